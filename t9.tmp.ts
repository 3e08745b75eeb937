import { evaluate, generateCorpus } from './src/classify/corpus.ts';
import { createColumnScanner } from './src/classify/scan.ts';
const corpus = generateCorpus({ seed: Number(process.argv[2] ?? 20240601) });
const preds = corpus.map(col => { const s = createColumnScanner([col.header]); for (const v of col.values) s.add([v]); return s.result()[0]!; });
const ev = evaluate(corpus, preds.map(p => p.type));
corpus.forEach((c, i) => { const p = preds[i]!; if (p.type !== c.label) console.log(c.kind, c.header, c.label, '->', p.type, p.ratio, p.nonEmpty, c.values.slice(0, 6)); });
console.log(ev.overall);
