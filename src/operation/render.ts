import { html, renderPdf } from '../core/pdf.ts';
import type { Disclosure } from './service.ts';

/** The yearly disclosure as a public page and a printable PDF, both from `disclosure()`. */

const yuan = (fen: number | null) => (fen === null ? '—' : `¥${(fen / 100).toFixed(2)}`);
const UNIT_ZH: Record<string, string> = { call: '每次调用', row: '每行', month: '每月', volume: '每 MiB' };

function feeText(fees: Disclosure['operators'][number]['products'][number]['fees']) {
  return fees
    .map(
      (f) =>
        `${UNIT_ZH[f.unit] ?? f.unit}：上限 ${yuan(f.capFen)}，实收 ${yuan(f.priceFen)}${f.trial ? '（试行）' : ''}`,
    )
    .join('；');
}

export function disclosurePage(d: Disclosure): string {
  const operators = d.operators
    .map(
      (o) => `<h2>${html(o.name)} <small>${html(o.uscc)}</small></h2>
<p>授权协议 ${o.agreements.map((a) => `${html(a.id)}（${html(a.validFrom)} 至 ${html(a.validTo)}，${html(a.scenarios.join('、'))}）`).join('；')}</p>
<h3>授权数据资源</h3><table><tr><th>资源编码</th><th>名称</th><th>提供单位</th><th>字段</th></tr>
${o.authorizedResources.map((r) => `<tr><td>${html(r.code)}</td><td>${html(r.name)}</td><td>${html(r.provider)}</td><td>${html(r.fields.join('、'))}</td></tr>`).join('')}</table>
<h3>产品和服务及收费</h3><table><tr><th>产品</th><th>登记编码</th><th>收费标准</th></tr>
${o.products.map((p) => `<tr><td>${html(p.name)}</td><td>${p.registrationCode ? `<a href="/registry/${html(p.registrationCode)}">${html(p.registrationCode)}</a>` : '—'}</td><td>${html(feeText(p.fees))}</td></tr>`).join('')}</table>
<p>最高准许收入 ${yuan(o.revenue.maxRevenueFen)}，上期结转扣减 ${yuan(o.revenue.carriedOverFen)}，实际收入 ${yuan(o.revenue.actualFen)}${o.revenue.trial ? '（试行收费）' : ''}</p>`,
    )
    .join('\n');
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${d.year} 年度公共数据资源授权运营信息披露</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left}th{background:#f6f8fa}</style></head>
<body><h1>${d.year} 年度公共数据资源授权运营信息披露</h1>
<p>披露截止 ${html(d.dueBy)}；生成于 ${html(d.generatedAt)}（由平台记录自动生成）。授权 ${d.implementingBody.authorizations} 项，运营单位 ${d.implementingBody.operators} 家。
<a href="/v1/operation/disclosures/${d.year}">JSON</a> · <a href="/v1/operation/disclosures/${d.year}/pdf">PDF</a></p>
${operators || '<p>本年度无授权运营。</p>'}</body></html>`;
}

export function disclosurePdf(d: Disclosure): Promise<Buffer> {
  const content: unknown[] = [
    {
      text: `${d.year} 年度公共数据资源授权运营信息披露`,
      fontSize: 16,
      alignment: 'center',
      margin: [0, 0, 0, 6],
    },
    {
      text: `披露截止 ${d.dueBy}；生成于 ${d.generatedAt}；授权 ${d.implementingBody.authorizations} 项`,
      fontSize: 9,
      margin: [0, 0, 0, 12],
    },
  ];
  for (const o of d.operators) {
    content.push({ text: `${o.name}（${o.uscc}）`, fontSize: 13, margin: [0, 8, 0, 4] });
    content.push({
      table: {
        widths: ['auto', '*', 'auto'],
        body: [
          ['资源编码', '授权数据资源', '提供单位'],
          ...o.authorizedResources.map((r) => [r.code, r.name, r.provider]),
        ],
      },
      layout: 'lightHorizontalLines',
    });
    content.push({
      margin: [0, 6, 0, 0],
      table: {
        widths: ['*', 'auto', '*'],
        body: [
          ['产品和服务', '登记编码', '收费标准'],
          ...o.products.map((p) => [p.name, p.registrationCode ?? '—', feeText(p.fees)]),
        ],
      },
      layout: 'lightHorizontalLines',
    });
    content.push({
      text: `最高准许收入 ${yuan(o.revenue.maxRevenueFen)}；上期结转扣减 ${yuan(o.revenue.carriedOverFen)}；实际收入 ${yuan(o.revenue.actualFen)}`,
      margin: [0, 6, 0, 0],
    });
  }
  return renderPdf({ info: { title: `${d.year} 年度授权运营信息披露` }, content });
}
