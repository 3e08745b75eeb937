import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
register();
const { openTable } = await import('./src/ingest/readers/index.ts');
process.on('unhandledRejection', (e) => parentPort.postMessage({ unhandled: String(e?.message).slice(0, 120) }));
parentPort.on('message', async (path) => {
  try { const t = await openTable(path, { format: 'parquet' }); let n = 0; for await (const b of t.batches) n += b.length; parentPort.postMessage({ ok: n }); }
  catch (e) { parentPort.postMessage({ err: e.name === 'FileReadError' ? e.code : `NON-FILE ${e.name}: ${String(e.message).slice(0, 120)}` }); }
});
parentPort.postMessage({ ready: true });
