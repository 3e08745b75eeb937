import { SINGLE_SURNAMES } from '../src/standards/surnames.ts';

/**
 * `redact_spans` as it was before full-width digits were taken in (issue 17): its patterns and
 * replacements, frozen, applied one after another. Masking that handles full-width forms, or runs
 * faster, must give exactly this on every text without a full-width digit or sign
 * (test/redact-spans.test.ts).
 */
const SURNAME_CLASS = `[${[...SINGLE_SURNAMES].join('')}]`;
const STOP = '[电联住身先女的于在是和与及等已现年男性手证号码地家户称说因到来去向办申]';
const GIVEN = `(?:(?!${STOP})[一-龥])`;
const CONTEXT =
  '(申请人|联系人|当事人|户主|患者|经办人|法定代表人|负责人|监护人|收件人|姓名|委托人|被申请人)';
const ROAD = '[^区县市旗镇乡0-9，。；、,;：:！？!? ]{1,20}';

export const SPANS_BEFORE: readonly (readonly [string, string])[] = [
  ['(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:[.][A-Za-z0-9-]+)+)', '$1***@$2'],
  ['(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])', '$1********$2'],
  ['(?<![0-9])([1-9][0-9]{5})[0-9]{6}([0-9]{3})(?![0-9])', '$1******$2'],
  ['(?<![0-9])([1-9][0-9]{5})[- ][0-9]{4}[- ]?[0-9]{4}[- ]([0-9]{3}[0-9Xx])(?![0-9])', '$1********$2'],
  ['(?<![0-9])[0-9]{12,15}([0-9]{4})(?![0-9])', '************$1'],
  ['(?<![0-9])[0-9]{4}[- ][0-9]{4}[- ][0-9]{4}[- ][0-9]{4}[- ]([0-9]{3})(?![0-9])', '**** **** **** **** $1'],
  ['(?<![0-9])[0-9]{4}[- ][0-9]{4}[- ][0-9]{4}[- ]([0-9]{4})(?![0-9])', '**** **** **** $1'],
  ['(?<![0-9+])((?:[+]?86|0086)?1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])', '$1****$2'],
  ['(?<![0-9+])((?:[+]?86|0086)?1[3-9][0-9])[- ][0-9]{4}[- ]([0-9]{4})(?![0-9])', '$1-****-$2'],
  ['(?<![0-9])(0[1-9][0-9])[0-9]?[- ]?[2-9][0-9]{4,5}([0-9]{2})(?![0-9])', '$1-******$2'],
  ['[(（](0[1-9][0-9])[0-9]?[)）][- ]?[2-9][0-9]{4,5}([0-9]{2})(?![0-9])', '$1-******$2'],
  [`${CONTEXT}([：:为是]?)(${SURNAME_CLASS})${GIVEN}{1,3}`, '$1$2$3**'],
  [`(${SURNAME_CLASS})${GIVEN}{0,2}(先生|女士)`, '$1**$2'],
  [`([区县市旗镇乡])${ROAD}[0-9]{1,5}[号栋幢室弄组](?:[0-9]{1,5}(?:[号栋幢室弄组楼层]|单元))*`, '$1****'],
];
const COMPILED = SPANS_BEFORE.map(([pattern, replacement]) => ({
  re: new RegExp(pattern, 'gu'),
  replacement,
}));

export function redactSpansBefore(text: string): string {
  let out = text;
  for (const { re, replacement } of COMPILED) out = out.replace(re, replacement);
  return out;
}
