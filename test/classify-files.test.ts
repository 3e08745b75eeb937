import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyFile, contractColumns } from '../src/classify/cli.ts';
import { DETECTOR_IDS } from '../src/rules/detectors.ts';
import { GRADES } from '../src/rules/grades.ts';
import { makeResidentId } from '../src/standards/resident-id.ts';
import { evaluate, formatEvaluation, generateCorpus } from './support/corpus.ts';
import { type CorpusFile, predictFiles, writeCorpusFiles } from './support/corpus-files.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'shutong-classify-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('classifying files', () => {
  it('reaches precision and recall of 0.98 overall and 0.95 per detector on the corpus written as files, a third GB18030', async () => {
    const corpus = generateCorpus();
    const files = await writeCorpusFiles(dir, corpus);
    const kinds = files.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'csv-gb18030').length).toBe(Math.ceil(files.length / 3));
    const encodings = new Map<CorpusFile['kind'], Set<string | null>>();
    const predictions = await predictFiles(corpus, files, async (file) => {
      const result = await classifyFile(file.path);
      encodings.set(file.kind, (encodings.get(file.kind) ?? new Set()).add(result.encoding));
      expect(result.results.map((r) => r.name)).toEqual(file.columns.map((i) => corpus[i]!.header.trim()));
      return result.results.map((r) => r.type);
    });
    // Detected, not told: GB18030 files are read as GB18030.
    expect([...encodings.get('csv-gb18030')!]).toEqual(['gb18030']);
    const evaluation = evaluate(corpus, predictions);
    console.log(
      `${files.length} files (${kinds.filter((k) => k === 'csv-gb18030').length} GB18030 CSV, ${kinds.filter((k) => k === 'csv-utf8').length} UTF-8 CSV, ${kinds.filter((k) => k === 'xlsx').length} XLSX), ${corpus.length} columns\n${formatEvaluation(evaluation)}`,
    );
    if (evaluation.errors.length > 0) console.log('misclassified:', evaluation.errors);
    expect(evaluation.overall.precision).toBeGreaterThanOrEqual(0.98);
    expect(evaluation.overall.recall).toBeGreaterThanOrEqual(0.98);
    for (const m of evaluation.perDetector) {
      expect(m.support, m.detector).toBeGreaterThan(0);
      expect(m.precision, `${m.detector} precision`).toBeGreaterThanOrEqual(0.95);
      expect(m.recall, `${m.detector} recall`).toBeGreaterThanOrEqual(0.95);
    }
  }, 300_000);

  it('prints exactly the JSON contract from `shutong classify --json`, exit code 0', async () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      [
        makeResidentId('330106', `19${50 + i}-0${1 + (i % 9)}-1${i % 10}`, i),
        `13${i % 10}${String(10_000_000 + i * 7919).slice(-8)}`,
        ['西湖区', '滨江区'][i % 2],
      ].join(','),
    );
    const file = path.join(dir, '居民.csv');
    await writeFile(file, iconv.encode(`身份证号,联系电话,所属区县\n${rows.join('\n')}\n`, 'gb18030'));
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'bin/shutong.js'), 'classify', file, '--json'],
      {
        cwd: ROOT,
      },
    );
    expect(stdout.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(stdout);
    expect(Object.keys(parsed)).toEqual(['columns']);
    for (const c of parsed.columns) {
      expect(Object.keys(c)).toEqual(['name', 'type', 'grade', 'confidence', 'ratio']);
      expect(c.type === null || (DETECTOR_IDS as readonly string[]).includes(c.type)).toBe(true);
      expect(GRADES).toContain(c.grade);
      expect(c.confidence).toBeGreaterThanOrEqual(0);
      expect(c.confidence).toBeLessThanOrEqual(1);
      expect(c.ratio).toBeGreaterThanOrEqual(0);
      expect(c.ratio).toBeLessThanOrEqual(1);
    }
    expect(
      parsed.columns.map((c: { name: string; type: string | null; grade: string }) => [
        c.name,
        c.type,
        c.grade,
      ]),
    ).toEqual([
      ['身份证号', 'cn_resident_id', 'g4'],
      ['联系电话', 'cn_mobile', 'g3'],
      ['所属区县', null, 'unassessed'],
    ]);
    expect(parsed).toEqual(contractColumns((await classifyFile(file)).results));

    // Without --json a table for people; a file that cannot be read is an error on stderr.
    const table = await run(process.execPath, [path.join(ROOT, 'bin/shutong.js'), 'classify', file], {
      cwd: ROOT,
    });
    expect(table.stdout).toMatch(/身份证号\s+cn_resident_id\s+g4/);
    const missing = await run(
      process.execPath,
      [path.join(ROOT, 'bin/shutong.js'), 'classify', path.join(dir, 'missing.csv'), '--json'],
      { cwd: ROOT },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in missing && missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/cannot be read/);
  }, 120_000);
});
