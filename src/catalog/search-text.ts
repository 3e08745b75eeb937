/**
 * Chinese-aware search text for PostgreSQL full-text search.
 *
 * PostgreSQL's parsers do not segment Chinese, and Node's ICU word segmenter splits government
 * vocabulary unreliably (缴费 → 缴/费). So text is indexed as lexemes Shutong makes itself:
 * every CJK character and every pair of adjacent CJK characters (unigrams and bigrams), plus
 * lower-cased Latin words and numbers. A query is segmented with Intl.Segmenter, common
 * government abbreviations are expanded (社保 → 社会保险), and each CJK run becomes an AND of its
 * bigrams — so 社保缴费 matches 城镇职工社会保险缴费明细 through 社会保险缴费.
 * Lexemes hold only CJK characters and [a-z0-9], so a query can never inject tsquery syntax.
 */

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/gu;
const LATIN_WORD = /[a-z0-9]+/g;

/** Shutong's list of abbreviations used in government data names, each with its full form. */
export const ABBREVIATIONS: Readonly<Record<string, readonly string[]>> = {
  社保: ['社会保险', '社会保障'],
  医保: ['医疗保险', '医疗保障'],
  养老金: ['养老保险'],
  低保: ['最低生活保障'],
  公积金: ['住房公积金'],
  个税: ['个人所得税'],
  公交: ['公共交通', '公共汽车'],
  网约车: ['网络预约出租汽车'],
  营业执照: ['营业登记', '企业登记'],
  工商: ['市场监督', '市场监管', '企业登记'],
  户籍: ['户口', '人口登记'],
  空气质量: ['环境空气'],
  不动产: ['房产', '房屋产权'],
  学籍: ['学生'],
  门诊: ['就诊'],
  信用代码: ['统一社会信用代码'],
  身份证: ['居民身份证', '公民身份号码'],
};

function cjkGrams(run: string): string[] {
  const chars = [...run];
  const grams = new Set<string>(chars);
  for (let i = 0; i + 1 < chars.length; i++) grams.add(chars[i]! + chars[i + 1]!);
  return [...grams];
}

/** Lexemes to index for a piece of text. */
export function indexLexemes(text: string): string[] {
  const lexemes = new Set<string>();
  for (const run of text.match(CJK_RUN) ?? []) for (const gram of cjkGrams(run)) lexemes.add(gram);
  for (const word of text.toLowerCase().match(LATIN_WORD) ?? []) lexemes.add(word);
  return [...lexemes];
}

const quote = (lexeme: string) => `'${lexeme}'`;

/** The bigrams of a CJK run ANDed (a lone character stands for itself). */
function runQuery(run: string): string {
  const chars = [...run];
  if (chars.length === 1) return quote(run);
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(quote(chars[i]! + chars[i + 1]!));
  return `(${grams.join(' & ')})`;
}

/** Every spelling of a CJK run with its known abbreviations expanded, the run itself first. */
function expansions(run: string): string[] {
  const forms = new Set<string>([run]);
  for (const [short, fulls] of Object.entries(ABBREVIATIONS)) {
    for (const form of [...forms]) {
      if (!form.includes(short)) continue;
      for (const full of fulls) forms.add(form.replaceAll(short, full));
    }
  }
  return [...forms].slice(0, 12);
}

export interface SearchQuery {
  /** All terms must match (each CJK run through one of its spellings). */
  strict: string;
  /** Any lexeme of any spelling matches: recall for ranking below the strict matches. */
  relaxed: string;
  terms: string[];
}

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/** Parses a free-text query; undefined when it holds nothing searchable. */
export function parseQuery(q: string): SearchQuery | undefined {
  const terms: string[] = [];
  // Merge the segmenter's single-character CJK pieces back into runs: bigrams need neighbours.
  let pending = '';
  const flush = () => {
    if (pending) terms.push(pending);
    pending = '';
  };
  for (const { segment, isWordLike } of segmenter.segment(q.normalize('NFKC').toLowerCase())) {
    if (!isWordLike) {
      flush();
      continue;
    }
    if (CJK.test(segment)) {
      pending += segment.match(CJK_RUN)?.join('') ?? '';
      continue;
    }
    flush();
    for (const word of segment.match(LATIN_WORD) ?? []) terms.push(word);
  }
  flush();
  if (terms.length === 0) return undefined;
  const strictParts: string[] = [];
  const relaxed = new Set<string>();
  for (const term of terms.slice(0, 16)) {
    if (!CJK.test(term)) {
      strictParts.push(`${quote(term)}:*`);
      relaxed.add(`${quote(term)}:*`);
      continue;
    }
    const forms = expansions(term);
    strictParts.push(`(${forms.map(runQuery).join(' | ')})`);
    for (const form of forms)
      for (const gram of cjkGrams(form))
        if ([...gram].length === 2 || [...form].length === 1) relaxed.add(quote(gram));
  }
  return { strict: strictParts.join(' & '), relaxed: [...relaxed].join(' | '), terms };
}
