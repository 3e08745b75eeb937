import { demoRows } from '../src/demo/data.ts';
import { DEMO_RESOURCES } from '../src/demo/resources.ts';
import { isValidResidentId } from '../src/standards/resident-id.ts';
import { isValidUscc } from '../src/standards/uscc.ts';
import { isValidMobile } from '../src/standards/phone.ts';
import { isValidBankCard } from '../src/standards/bank-card.ts';
import { isValidLicensePlate } from '../src/standards/license-plate.ts';
const n = Number(process.argv[2] ?? 200);
for (const r of DEMO_RESOURCES) {
  const t = performance.now();
  const rows = [...demoRows(r, r.key === 'residents' ? Math.max(n, 1000) : n)];
  const ms = performance.now() - t;
  const keys = Object.keys(rows[0]!);
  const names = r.fields.map(f => f.name);
  if (keys.join() !== names.join()) console.log('MISMATCH', r.key, keys, names);
  const bad: string[] = [];
  for (const row of rows) for (const [k, v] of Object.entries(row)) {
    if (typeof v !== 'string') continue;
    if (/id_number$/.test(k) && !isValidResidentId(v, { regionRule: 'current' })) bad.push(`${k}=${v}`);
    if (/uscc|taxpayer_id|agent_tax_id/.test(k) && !isValidUscc(v)) bad.push(`${k}=${v}`);
    if (/mobile/.test(k) && !isValidMobile(v)) bad.push(`${k}=${v}`);
    if (/bank_account|card_account/.test(k) && !isValidBankCard(v)) bad.push(`${k}=${v}`);
    if (k === 'plate' && !isValidLicensePlate(v)) bad.push(`${k}=${v}`);
  }
  const keyField = r.fields.find(f => f.isKey)?.name;
  const dup = keyField ? rows.length - new Set(rows.map(x => x[keyField])).size : '-';
  console.log(r.key.padEnd(22), String(rows.length).padStart(6), ms.toFixed(0).padStart(6), 'ms dup', dup, 'bad', bad.length, bad.slice(0,3).join(' '));
}
for (const k of process.argv.slice(3)) { const r = DEMO_RESOURCES.find(x=>x.key===k)!; for (const row of [...demoRows(r, 4)]) console.log(JSON.stringify(row)); }
