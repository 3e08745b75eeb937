import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { parquetWriteBuffer } from 'hyparquet-writer';
const rows = Array.from({ length: 1000 }, (_, i) => i);
const variants: Array<[string, any[]]> = [
  ['v1', [{ name: 'record_no', data: rows.map((i) => `P${i}`), type: 'STRING' }, { name: 'district', data: rows.map(() => '西湖区'), type: 'STRING' }, { name: 'visits', data: rows.map((i) => i % 9), type: 'INT32' }, { name: 'name', data: rows.map((i) => `张${i}`), type: 'STRING' }, { name: 'note', data: rows.map((i) => i % 3 ? null : 'n'), type: 'STRING' }]],
];
const good = Buffer.from(parquetWriteBuffer({ columnData: variants[0]![1] }));
let seed = Number(process.argv[2] ?? 1);
const random = () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed / 2 ** 31; };
const N = Number(process.argv[3] ?? 2000);
const tally: Record<string, number> = {};
const spawnWorker = async () => { const w = new Worker(new URL('./.fuzz-worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 512 } }); await new Promise((r) => w.once('message', r)); return w; };
let worker = await spawnWorker(); const _unused = (new URL('./.fuzz-worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 512 } });
for (let i = 0; i < N; i++) {
  const damaged = Buffer.from(good);
  for (let k = 0; k < 1 + Math.floor(random() * 4); k++) damaged[4 + Math.floor(random() * (good.length - 12))] = Math.floor(random() * 256);
  const path = `/tmp/fz-${i % 4}.parquet`;
  writeFileSync(path, damaged);
  const t0 = Date.now();
  const result: any = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ hang: true }), 3000);
    worker.once('message', (m) => { clearTimeout(timer); resolve(m); });
    worker.once('error', (e) => { clearTimeout(timer); resolve({ crash: String(e) }); });
    worker.postMessage(path);
  });
  const key = result.hang ? 'HANG' : result.crash ? `CRASH ${result.crash.slice(0, 80)}` : result.unhandled ? `UNHANDLED ${result.unhandled}` : result.ok !== undefined ? 'ok' : result.err;
  tally[key] = (tally[key] ?? 0) + 1;
  if (result.hang || result.crash || result.unhandled || String(result.err).startsWith('NON-FILE') || Date.now() - t0 > 1000) {
    writeFileSync(`/tmp/fz-bad-${i}.parquet`, damaged);
    console.log(i, key, Date.now() - t0, 'ms');
    if (result.hang || result.crash) { await worker.terminate(); worker = await spawnWorker(); }
  }
}
console.log(tally);
await worker.terminate();
