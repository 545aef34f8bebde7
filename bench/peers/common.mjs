// common.mjs: the three workloads every peer runs, measured the same way
// as nudge's own (bench/queue.c): N jobs, C callers outstanding.
//   single:    each caller adds one job at a time, awaiting its answer
//              (durable per the peer's settings); jobs/s and p99 latency
//   batch:     callers add B jobs per call; jobs/s
//   burn-down: N jobs waiting; the peer's worker claims them, runs a no-op
//              handler and marks them complete; jobs/s from start to the
//              last completion
// Each result is one JSON line on stdout.

export function now() {
  return Number(process.hrtime.bigint()) / 1e6; // ms
}

function pct(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

export async function single(addOne, n, callers) {
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = now();
  async function caller() {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const a = now();
      await addOne(i);
      lat[i] = now() - a;
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  const ms = now() - t0;
  const sorted = Array.from(lat).sort((x, y) => x - y);
  return { jobs: n, seconds: ms / 1000, jobs_per_s: Math.round(n / (ms / 1000)),
           p50_ms: +pct(sorted, 50).toFixed(2), p99_ms: +pct(sorted, 99).toFixed(2) };
}

export async function batch(addMany, n, size, callers) {
  let next = 0;
  const t0 = now();
  async function caller() {
    for (;;) {
      const from = next;
      if (from >= n) return;
      const k = Math.min(size, n - from);
      next += k;
      await addMany(from, k);
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  const ms = now() - t0;
  return { jobs: n, batch: size, seconds: ms / 1000, jobs_per_s: Math.round(n / (ms / 1000)) };
}

// start() begins consuming; done() resolves when all n are complete.
export async function burnDown(n, start, done) {
  const t0 = now();
  await start();
  await done();
  const ms = now() - t0;
  return { jobs: n, seconds: ms / 1000, jobs_per_s: Math.round(n / (ms / 1000)) };
}

export function report(peer, durability, workload, r) {
  process.stdout.write(JSON.stringify({ peer, durability, workload, ...r }) + "\n");
}

export function args() {
  const a = Object.fromEntries(process.argv.slice(2).map((s) => s.replace(/^--/, "").split("=")));
  return {
    n: +(a.n || 20000), callers: +(a.callers || 16), size: +(a.batch || 1000),
    workloads: (a.workloads || "single,batch,burn").split(","), url: a.url, label: a.label || "",
  };
}
