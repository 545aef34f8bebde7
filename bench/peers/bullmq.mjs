// bullmq.mjs: BullMQ on the redis-server run.sh started (its AOF setting is
// the durability: everysec can lose about a second of acknowledged jobs,
// always fsyncs each write). --url=redis://127.0.0.1:PORT --label=...
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";
import { args, single, batch, burnDown, report } from "./common.mjs";

const a = args();
const u = new URL(a.url);
// In ESM BullMQ takes a constructed client (each Queue/Worker duplicates it).
const connection = new IORedis({ host: u.hostname, port: +u.port, maxRetriesPerRequest: null });
const data = (i) => ({ patient: i, template: "reminder_24h", channel: "sms" });

async function fresh(name) {
  const q = new Queue(name, { connection });
  await q.obliterate({ force: true }).catch(() => {});
  return q;
}

for (const w of a.workloads) {
  if (w === "single") {
    const q = await fresh("single");
    report("bullmq", a.label, "single", await single((i) => q.add("j", data(i)), a.n, a.callers));
    await q.close();
  } else if (w === "batch") {
    const q = await fresh("batch");
    report("bullmq", a.label, "batch", await batch((from, k) =>
      q.addBulk(Array.from({ length: k }, (_, j) => ({ name: "j", data: data(from + j) }))),
      a.n, a.size, a.callers));
    await q.close();
  } else if (w === "burn") {
    const q = await fresh("burn");
    for (let i = 0; i < a.n; i += 1000)
      await q.addBulk(Array.from({ length: Math.min(1000, a.n - i) }, (_, j) => ({ name: "j", data: data(i + j) })));
    let completed = 0, worker, finish;
    const all = new Promise((r) => (finish = r));
    report("bullmq", a.label, "burn", await burnDown(a.n, async () => {
      worker = new Worker("burn", async () => {}, { connection, concurrency: a.callers });
      worker.on("completed", () => { if (++completed === a.n) finish(); });
    }, () => all));
    await worker.close();
    await q.close();
  }
}
process.exit(0);
