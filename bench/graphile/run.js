// graphile-worker as a peer in Symphony's benchmarks (scripts/bench.sh).
//
//   node run.js DATABASE_URL N [as-loaded|analyzed]
//
// Preloads N no-op jobs with addJobs, optionally ANALYZEs the jobs table, then
// runs a worker configured as graphile-worker's performance page shows
// (concurrentJobs 24, maxPoolSize 25, localQueue 500, batched completion) and
// times it until the jobs table is empty. Prints one JSON line per figure.
"use strict";
const { run, makeWorkerUtils, runMigrations } = require("graphile-worker");

const [url, nArg, stats = "as-loaded"] = process.argv.slice(2);
const n = Number(nArg);
if (!url || !(n > 0) || !["as-loaded", "analyzed"].includes(stats)) {
  console.error("usage: node run.js DATABASE_URL N [as-loaded|analyzed]");
  process.exit(2);
}

const quiet = () => () => {};

async function main() {
  const preset = {
    worker: {
      connectionString: url,
      concurrentJobs: 24,
      maxPoolSize: 25,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  };
  await runMigrations({ preset, logger: new (require("@graphile/logger").Logger)(quiet) });
  const utils = await makeWorkerUtils({ preset });
  try {
    await utils.withPgClient((c) => c.query("truncate graphile_worker._private_jobs"));
    for (let left = n; left > 0; left -= 10000) {
      const specs = Array.from({ length: Math.min(left, 10000) }, () => ({ identifier: "noop", payload: {} }));
      await utils.addJobs(specs);
    }
    if (stats === "analyzed") {
      await utils.withPgClient((c) => c.query("analyze graphile_worker._private_jobs"));
    }
    let worked = 0;
    const began = process.hrtime.bigint();
    const runner = await run({
      preset,
      logger: new (require("@graphile/logger").Logger)(quiet),
      taskList: { noop: async () => { worked++; } },
    });
    // Completion is batched: the work is done when the table is empty.
    for (;;) {
      await new Promise((r) => setTimeout(r, worked < n ? 50 : 5));
      if (worked < n) continue;
      // As Symphony's check: an index, not a scan of the whole table, inside the timed run.
      const { rows } = await utils.withPgClient(async (c) => {
        await c.query("begin");
        try {
          await c.query("set local enable_seqscan = off");
          return await c.query("select not exists (select 1 from graphile_worker._private_jobs) as empty");
        } finally {
          await c.query("commit");
        }
      });
      if (rows[0].empty) break;
    }
    const secs = Number(process.hrtime.bigint() - began) / 1e9;
    await runner.stop();
    console.log(JSON.stringify({
      name: `graphile_${stats.replace("-", "_")}`,
      value: n / secs,
      unit: "jobs/s",
      note: `graphile-worker 0.17.3, ${n} no-op jobs, concurrency 24, local queue 500, batched completion, jobs table ${stats === "analyzed" ? "ANALYZEd after loading" : "as loaded (autovacuum's statistics)"}`,
    }));
  } finally {
    await utils.release();
  }
}

main().catch((e) => {
  console.error("graphile:", e);
  process.exit(1);
});
