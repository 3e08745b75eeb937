import { generateCorpus } from './src/classify/corpus.ts';
for (const n of [8, 16, 40]) { const t0 = performance.now(); const c = generateCorpus({ columnsPerDetector: n }); console.log(n, c.length, (performance.now() - t0).toFixed(0)); }
