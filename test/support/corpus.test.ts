import { describe, expect, it } from 'vitest';
import { createColumnScanner } from '../../src/rules/scan.ts';
import { evaluate, formatEvaluation, formatMargins, generateCorpus } from './corpus.ts';

describe('labelled corpus', () => {
  const corpus = generateCorpus();
  const predictions = corpus.map((col) => {
    const scanner = createColumnScanner([col.header]);
    for (const v of col.values) scanner.add([v]);
    return scanner.result()[0]!.type;
  });
  const evaluation = evaluate(corpus, predictions);

  it('reaches precision and recall of 0.98 overall and 0.95 per detector', () => {
    console.log(
      `${corpus.length} columns, ${corpus.reduce((s, c) => s + c.values.length, 0)} values\n${formatEvaluation(evaluation)}`,
    );
    console.log(formatMargins(corpus));
    if (evaluation.errors.length > 0) console.log('misclassified:', evaluation.errors);
    expect(evaluation.overall.precision).toBeGreaterThanOrEqual(0.98);
    expect(evaluation.overall.recall).toBeGreaterThanOrEqual(0.98);
    for (const m of evaluation.perDetector) {
      expect(m.support, m.detector).toBeGreaterThan(0);
      expect(m.precision, `${m.detector} precision`).toBeGreaterThanOrEqual(0.95);
      expect(m.recall, `${m.detector} recall`).toBeGreaterThanOrEqual(0.95);
    }
  });
});
