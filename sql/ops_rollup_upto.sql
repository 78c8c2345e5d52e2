-- How far symphony.roll_up() has folded source $1 (messages, bridge_rows): the
-- charts leave what comes after blank rather than draw it as zero.
select upto from symphony.rollup_watermarks where name = $1
