-- Fold newly finished work into the dashboard's rollup tables (symphony.roll_up);
-- returns at once when another caller is at it or nothing new has closed.
select symphony.roll_up()
