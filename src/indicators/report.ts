import { renderPdf } from '../core/pdf.ts';
import type { Normalization } from '../rules/composite.ts';
import { fullRegionName } from '../standards/region.ts';
import type { IndexResults, IndexView } from './evaluation.ts';

/**
 * The printable evaluation report: what the index measures and how (each normalization named with
 * the published index it comes from, the aggregation and the missing-data rule), the ranking with
 * a bar per score and the change from the earlier period, and each dimension's part of each
 * unit's score — all from the same results the API answers, so the paper and the data agree.
 * One font face throughout (no bold): the embedded subset stays one font.
 */

const METHOD: Record<Normalization['method'], (n: Normalization) => string> = {
  minmax: () => '最小–最大值归一（本期各单位之间）/ min–max across the units of the period',
  egdi: (n) =>
    `z 分数后最小–最大值归一，联合国电子政务发展指数（EGDI）方法${'cap' in n && n.cap !== undefined ? `，上限 ${n.cap}` : ''} / z-score then min–max (UN EGDI)`,
  fixed: (n) =>
    `固定上下限归一 [${'min' in n ? n.min : ''}, ${'max' in n ? n.max : ''}]，欧盟数字经济与社会指数（DESI）方法，跨年可比 / fixed bounds (EU DESI)`,
  binary: () => '是 / 否，联合国地方在线服务指数（LOSI）方法 / yes or no (UN LOSI)',
};

const AGGREGATION: Record<string, string> = {
  arithmetic: '加权算术平均 / weighted arithmetic mean',
  geometric: '加权几何平均（任一部分为 0 则为 0）/ weighted geometric mean',
};

const fixed4 = (v: number | null) => (v === null ? '—' : v.toFixed(4));
const signed4 = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(4)}`);
const percent = (v: number) => `${Math.round(v * 100)}%`;

/** A unit's name where the division code is a registered region (the district for longer codes). */
export function unitLabel(code: string): string {
  const district = fullRegionName(code.slice(0, 6));
  if (!district) return code;
  return code.length > 6 ? `${district} ${code}` : `${district}（${code}）`;
}

const HEADER = { fillColor: '#f2f2f2' };
const BAR_WIDTH = 110;

export async function evaluationReportPdf(
  view: IndexView,
  results: IndexResults,
  context: { within?: string | undefined; generatedAt: Date },
): Promise<Buffer> {
  const scored = results.units.filter((u) => u.score !== null);
  const unscored = results.units.filter((u) => u.score === null);
  const scope = context.within
    ? `范围 Within：${unitLabel(context.within)}`
    : '范围 Within：全部单位 all units';
  const period = results.previousPeriod
    ? `期间 Period：${results.period}（对比 compared with ${results.previousPeriod}）`
    : `期间 Period：${results.period}`;
  const method = view.dimensions.flatMap((d) => [
    { text: `${d.nameZh} ${d.nameEn}（权重 weight ${d.weight}）`, margin: [0, 6, 0, 2] },
    {
      ul: d.indicators.map(
        (i) =>
          `${i.code}（权重 ${i.weight}${i.direction === 'lower' ? '，越低越好 lower is better' : ''}）：${METHOD[i.normalization.method](i.normalization)}`,
      ),
      fontSize: 9,
    },
  ]);
  const ranking = [
    ['排名 Rank', '单位 Unit', '得分 Score', '', '上期 Before', '变化 Change', '覆盖 Coverage'].map(
      (text) => ({
        text,
        ...HEADER,
      }),
    ),
    ...scored.map((u) => [
      String(u.rank ?? ''),
      unitLabel(u.unitCode),
      fixed4(u.score),
      {
        canvas: [
          { type: 'rect', x: 0, y: 2, w: BAR_WIDTH, h: 8, color: '#eef2f7' },
          {
            type: 'rect',
            x: 0,
            y: 2,
            w: Math.max(0, Math.min(1, u.score!)) * BAR_WIDTH,
            h: 8,
            color: '#1677ff',
          },
        ],
      },
      fixed4(u.previousScore),
      signed4(u.change),
      percent(u.coverage),
    ]),
  ];
  const dimensions = [
    [
      { text: '单位 Unit', ...HEADER },
      ...view.dimensions.map((d) => ({ text: `${d.nameZh}\n${d.nameEn}`, ...HEADER })),
    ],
    ...scored.map((u) => [
      unitLabel(u.unitCode),
      ...view.dimensions.map((d) => {
        const part = u.dimensions.find((x) => x.code === d.code);
        return part ? `${fixed4(part.score)}（贡献 ${fixed4(part.contribution)}）` : '—';
      }),
    ]),
  ];
  return renderPdf({
    info: { title: `${view.nameZh} ${results.period}`, subject: `${view.code} evaluation report` },
    pageSize: 'A4',
    pageMargins: [40, 48, 40, 48],
    footer: (page: number, pages: number) => ({
      text: `${view.code} · ${results.period} · ${page} / ${pages}`,
      alignment: 'center',
      fontSize: 8,
      color: '#666666',
    }),
    content: [
      { text: `${view.nameZh}评价报告`, fontSize: 18, margin: [0, 0, 0, 2] },
      { text: `${view.nameEn} — evaluation report`, fontSize: 11, color: '#444444', margin: [0, 0, 0, 8] },
      { text: period },
      { text: scope },
      {
        text: `生成时间 Generated：${context.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        margin: [0, 0, 0, 10],
      },
      { text: '一、排名 Ranking', fontSize: 13, margin: [0, 4, 0, 4] },
      scored.length > 0
        ? {
            table: { headerRows: 1, widths: [40, '*', 46, BAR_WIDTH, 46, 50, 44], body: ranking },
            layout: 'lightHorizontalLines',
            fontSize: 9,
          }
        : { text: '本期没有单位的数据足以计分 / No unit has enough data this period', color: '#cf222e' },
      unscored.length > 0
        ? {
            text: `数据不足、未计分 Not scored (coverage below ${percent(view.minCoverage)}): ${unscored
              .map((u) => `${unitLabel(u.unitCode)}（覆盖 ${percent(u.coverage)}）`)
              .join('；')}`,
            color: '#9a6700',
            margin: [0, 6, 0, 0],
            fontSize: 9,
          }
        : '',
      { text: '二、维度得分与贡献 Dimensions', fontSize: 13, margin: [0, 14, 0, 4] },
      scored.length > 0
        ? { table: { headerRows: 1, body: dimensions }, layout: 'lightHorizontalLines', fontSize: 9 }
        : '',
      { text: '三、方法 Method', fontSize: 13, margin: [0, 14, 0, 4] },
      { text: `汇总 Aggregation：${AGGREGATION[view.aggregation] ?? view.aggregation}` },
      {
        text: `缺失数据 Missing data：不计入，其余权重重新归一；权重覆盖低于 ${percent(view.minCoverage)} 的单位不计分 / left out, the weights of the present renormalised; a unit below ${percent(view.minCoverage)} weight coverage gets no score`,
        fontSize: 9,
      },
      ...method,
      {
        text: `每个输入可溯源到所报数值和报送记录：GET /v1/evaluation/indexes/${view.code}/results?period=${results.period} / every input is traced to its value and submission in the results API`,
        fontSize: 8,
        color: '#666666',
        margin: [0, 14, 0, 0],
      },
    ],
  });
}
