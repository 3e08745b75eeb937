import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { isValidResidentId } from '../standards/resident-id.ts';
import { isValidUscc } from '../standards/uscc.ts';
import { DEMO_ORGANIZATIONS, DEMO_USERS, stewardUsername } from './city.ts';
import { demoRows, writeDemoCsv } from './data.ts';
import { encodeGb18030 } from './gb18030.ts';
import { DEMO_RESOURCES, findDemoResource } from './resources.ts';

const take = (key: string, count: number, options = {}) => [
  ...demoRows(findDemoResource(key)!, count, options),
];

describe('demo resources', () => {
  it('each have a generator that fills exactly their fields, in order', () => {
    for (const resource of DEMO_RESOURCES) {
      const [row] = [...demoRows(resource, 1)];
      expect(Object.keys(row!), resource.key).toEqual(resource.fields.map((f) => f.name));
    }
  });

  it('are provided by demo organizations that have a data steward', () => {
    const orgs = new Set(DEMO_ORGANIZATIONS.map((o) => o.key));
    const users = new Set(DEMO_USERS.map((u) => u.username));
    for (const r of DEMO_RESOURCES) {
      expect(orgs.has(r.provider), r.key).toBe(true);
      expect(users.has(stewardUsername(r.provider)), r.key).toBe(true);
    }
    expect(new Set(DEMO_RESOURCES.map((r) => r.key)).size).toBe(DEMO_RESOURCES.length);
  });
});

describe('demo data', () => {
  it('is the same for the same seed and different for another', () => {
    expect(take('residents', 50)).toEqual(take('residents', 50));
    expect(take('social_insurance', 50)).toEqual(take('social_insurance', 50));
    expect(take('residents', 50, { seed: 7 })).not.toEqual(take('residents', 50));
    // More rows extend a table; they do not change the rows before them.
    expect(take('enterprises', 300).slice(0, 100)).toEqual(take('enterprises', 100));
  });

  it('never repeats a key: ID numbers, credit codes, plates, certificate numbers', () => {
    for (const resource of DEMO_RESOURCES) {
      const key = resource.fields.find((f) => f.isKey)?.name;
      if (!key) continue;
      const values = [...demoRows(resource, 3_000)].map((row) => row[key]);
      expect(new Set(values).size, resource.key).toBe(values.length);
    }
  });

  it('keeps its references consistent: payers are residents, employers are registered enterprises', () => {
    const residents = new Set(take('residents', 1000).map((r) => r.id_number));
    const enterprises = new Set(take('enterprises', 200).map((r) => r.uscc));
    for (const row of take('social_insurance', 200)) {
      expect(residents.has(row.id_number)).toBe(true);
      expect(enterprises.has(row.employer_uscc)).toBe(true);
    }
    const pupils = take('school_enrollment', 200);
    expect(pupils.every((p) => isValidResidentId(String(p.id_number), { regionRule: 'current' }))).toBe(true);
    expect(pupils.every((p) => p.student_no === `G${p.id_number}`)).toBe(true);
    expect(take('business_licences', 50).every((l) => isValidUscc(String(l.uscc)))).toBe(true);
  });

  it('writes GB18030 files byte for byte as iconv-lite encodes them', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'shutong-demo-test-'));
    try {
      const gbk = DEMO_RESOURCES.filter((r) => r.encoding === 'gb18030');
      expect(gbk.length).toBeGreaterThan(0);
      for (const resource of gbk) {
        const gbFile = path.join(dir, 'gb.csv');
        const utfFile = path.join(dir, 'utf.csv');
        await writeDemoCsv(gbFile, resource, 300);
        await writeDemoCsv(utfFile, { ...resource, encoding: 'utf-8' }, 300);
        const text = await readFile(utfFile, 'utf8');
        expect(text.split('\n')[0]).toBe(resource.fields.map((f) => f.label).join(','));
        expect((await readFile(gbFile)).equals(iconv.encode(text, 'gb18030')), resource.key).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses characters it cannot write as GB18030 rather than writing them wrongly', () => {
    expect(encodeGb18030('云岚市（测试）').equals(iconv.encode('云岚市（测试）', 'gb18030'))).toBe(true);
    expect(() => encodeGb18030('𠀀')).toThrow(/GB18030/);
  });
});
