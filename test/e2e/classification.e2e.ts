/**
 * Issue #17 in the browser: a steward imports a register the way real exports look — ID numbers
 * with Excel text markers and first-generation 15-digit numbers among the 18-digit ones, a serial
 * number column that looks like mobiles, a 备注 column with names, phones and addresses inside —
 * and the classification page shows why the scanner decided as it did: the messy formats it still
 * validated, the shape rule that ruled the serials out, the entities found inside the free text.
 * Screenshot: test-output/screenshots/classification-evidence.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeResidentId } from '../../src/standards/resident-id.ts';
import { type ConsoleApp, startConsoleApp } from './support.ts';

let app: ConsoleApp;
let steward: string;
let code: string;

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨'];
const ROWS = Array.from({ length: 40 }, (_, i) => {
  const id = makeResidentId('330106', `19${60 + (i % 39)}-0${1 + (i % 9)}-1${i % 9}`, 101 + i * 2);
  return {
    serial: String(13_900_000_001 + i),
    // Every fifth written as a spreadsheet leaves it: a leading apostrophe, or the old 15 digits.
    id: i % 10 === 3 ? `'${id}` : i % 10 === 7 ? `${id.slice(0, 6)}${id.slice(8, 17)}` : id,
    note: `申请人${SURNAMES[i % SURNAMES.length]}某，联系电话139${String(10_000_000 + i * 7919).slice(-8)}，住址杭州市西湖区文三路${100 + i}号`,
  };
});

beforeAll(async () => {
  app = await startConsoleApp('classification');
  steward = await app.t.login('steward.health');
  const created = await app.call('POST', '/v1/resources', steward, {
    name: '困难群众救助申请登记',
    theme: 'social_security',
    updateCycle: 'monthly',
    sharingType: 'conditional',
    sharingConditions: '依法履职需要',
    openType: 'not_open',
    fields: [
      { name: 'serial_no', label: '流水号', dataType: 'text', isKey: true },
      { name: 'id_number', label: '身份证号', dataType: 'text' },
      { name: 'note', label: '备注', dataType: 'text' },
    ],
  });
  code = created.code;
  const csv = ['serial_no,id_number,note', ...ROWS.map((r) => `${r.serial},${r.id},${r.note}`)].join('\n');
  const res = await app.t.request({
    method: 'POST',
    url: `/v1/resources/${code}/versions?filename=register.csv&wait=true`,
    token: steward,
    headers: { 'content-type': 'text/csv' },
    payload: `${csv}\n`,
  });
  expect(res.statusCode, res.body).toBe(201);
}, 240_000);

afterAll(async () => {
  await app?.close();
});

it('shows the evidence behind each suggestion: formats, shape rules, entities in free text', async () => {
  const page = await app.open(steward, { width: 1366, height: 768 }, `/catalog/${code}/classification`);
  const evidence = (field: string) => page.getByTestId(`evidence-${field}`);
  await expect.poll(() => evidence('id_number').textContent()).toContain('非标准写法仍已识别');
  const ids = (await evidence('id_number').textContent()) ?? '';
  expect(ids).toMatch(/Excel文本标记（前导单引号） 4/);
  expect(ids).toMatch(/15/);
  const serials = (await evidence('serial_no').textContent()) ?? '';
  expect(serials).toContain('不是手机号码');
  const note = (await evidence('note').textContent()) ?? '';
  expect(note).toContain('文本内含（40 条含个人信息，逐段遮盖）');
  expect(note).toMatch(/手机号码 40/);
  expect(note).toMatch(/姓名 \d+/);
  await app.shot(page, 'evidence');
  expect(app.pageErrors).toEqual([]);
});
