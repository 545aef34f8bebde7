// pgboss.mjs: pg-boss on the PostgreSQL run.sh started (fsync and
// synchronous_commit on: an acknowledged job is on disk). --url=postgres://...
import PgBoss from "pg-boss";
import { args, single, batch, burnDown, report } from "./common.mjs";

const a = args();
const data = (i) => ({ patient: i, template: "reminder_24h", channel: "sms" });
const boss = new PgBoss({ connectionString: a.url, max: a.callers + 4 });
boss.on("error", (e) => console.error("pg-boss:", e.message));
await boss.start();

for (const w of a.workloads) {
  const name = "q_" + w;
  await boss.deleteQueue(name).catch(() => {});
  await boss.createQueue(name);
  if (w === "single") {
    report("pg-boss", a.label, "single", await single((i) => boss.send(name, data(i)), a.n, a.callers));
  } else if (w === "batch") {
    report("pg-boss", a.label, "batch", await batch((from, k) =>
      boss.insert(Array.from({ length: k }, (_, j) => ({ name, data: data(from + j) }))),
      a.n, a.size, a.callers));
  } else if (w === "burn") {
    for (let i = 0; i < a.n; i += 1000)
      await boss.insert(Array.from({ length: Math.min(1000, a.n - i) }, (_, j) => ({ name, data: data(i + j) })));
    let completed = 0, finish;
    const all = new Promise((r) => (finish = r));
    // pg-boss fetches batches and completes them when the handler returns;
    // callers workers at once, the fastest poll it allows (0.5 s).
    report("pg-boss", a.label, "burn", await burnDown(a.n, async () => {
      for (let k = 0; k < a.callers; k++)
        await boss.work(name, { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          completed += jobs.length;
          if (completed >= a.n) setImmediate(finish);
        });
    }, async () => {
      await all;
      // the last batch's completion is written after the handler returns
      for (;;) {
        const c = await boss.getQueueSize(name, { before: "completed" });
        if (c === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }));
  }
}
await boss.stop({ graceful: false, wait: false });
process.exit(0);
