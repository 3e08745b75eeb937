import { evaluate, generateCorpus } from './src/classify/corpus.ts';
import { createColumnScanner } from './src/classify/scan.ts';
import { DETECTORS } from './src/classify/detectors.ts';
const corpus = generateCorpus({ seed: Number(process.argv[2] ?? 20240601) });
const rows: string[] = [];
for (const x of [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) for (const y of [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]) {
  if (y > x) continue;
  const dets = DETECTORS.map(d => ({ ...d, minRatio: x, minRatioWithHint: y }));
  const preds = corpus.map(col => { const s = createColumnScanner([col.header], { detectors: dets }); for (const v of col.values) s.add([v]); return s.result()[0]!.type; });
  const ev = evaluate(corpus, preds);
  const minP = Math.min(...ev.perDetector.map(m => m.precision)), minR = Math.min(...ev.perDetector.map(m => m.recall));
  rows.push(`noHint=${x} hint=${y}  P=${ev.overall.precision.toFixed(3)} R=${ev.overall.recall.toFixed(3)} minP=${minP.toFixed(3)} minR=${minR.toFixed(3)} errors=${ev.errors.length} ${[...new Set(ev.errors.map(e=>e.kind+'->'+e.predicted))].slice(0,6).join(' ')}`);
}
console.log(rows.join('\n'));
