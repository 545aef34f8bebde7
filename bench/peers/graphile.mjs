// graphile.mjs: graphile-worker on the PostgreSQL run.sh started (fsync
// and synchronous_commit on). --url=postgres://...
import { run, makeWorkerUtils } from "graphile-worker";
import { args, single, batch, burnDown, report } from "./common.mjs";

const a = args();
const data = (i) => ({ patient: i, template: "reminder_24h", channel: "sms" });
const utils = await makeWorkerUtils({ connectionString: a.url });
await utils.migrate();
// 0.16's batch call is the SQL function add_jobs (its WorkerUtils has no
// addJobs): one statement per batch, json_populate_recordset building the
// job_spec array.
const addJobs = (specs) => utils.withPgClient((c) => c.query(
  "SELECT graphile_worker.add_jobs(ARRAY(SELECT json_populate_recordset(NULL::graphile_worker.job_spec, $1::json)))",
  [JSON.stringify(specs)]));
const pending = async () => {
  const { rows } = await utils.withPgClient((c) =>
    c.query("SELECT COUNT(*)::int AS n FROM graphile_worker.jobs"));
  return rows[0].n;
};

for (const w of a.workloads) {
  await utils.withPgClient((c) => c.query("DELETE FROM graphile_worker._private_jobs"));
  if (w === "single") {
    report("graphile-worker", a.label, "single",
      await single((i) => utils.addJob("noop", data(i)), a.n, a.callers));
  } else if (w === "batch") {
    report("graphile-worker", a.label, "batch", await batch((from, k) =>
      addJobs(Array.from({ length: k }, (_, j) => ({ identifier: "noop", payload: data(from + j) }))),
      a.n, a.size, a.callers));
  } else if (w === "burn") {
    for (let i = 0; i < a.n; i += 1000)
      await addJobs(Array.from({ length: Math.min(1000, a.n - i) }, (_, j) => ({ identifier: "noop", payload: data(i + j) })));
    let runner;
    report("graphile-worker", a.label, "burn", await burnDown(a.n, async () => {
      runner = await run({ connectionString: a.url, concurrency: a.callers, maxPoolSize: a.callers + 4, pollInterval: 100,
                           noHandleSignals: true, taskList: { noop: async () => {} } });
    }, async () => {
      while ((await pending()) > 0) await new Promise((r) => setTimeout(r, 20));
    }));
    await runner.stop();
  }
}
await utils.release();
process.exit(0);
