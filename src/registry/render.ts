import { html, qrPng, qrSvg, renderPdf } from '../core/pdf.ts';
import type { SignedCertificate } from './certificate.ts';
import type { CertificateHistory } from './service.ts';

/** The public page and the printable PDF of a registration certificate. */

const KIND_ZH: Record<string, string> = {
  first: '首次登记',
  change: '变更登记',
  correction: '更正登记',
  cancellation: '注销登记',
};
const SUBJECT_ZH: Record<string, string> = { resource: '公共数据资源', product: '数据产品' };

interface Cert {
  code: string;
  version: number;
  status: string;
  kind: string;
  subject: { type: string; id: string; name: string };
  holder: { name: string; uscc: string };
  content: Record<string, unknown>;
  commitment: { signatory?: string; signedOn?: string };
  registeredOn: string;
  validUntil: string;
  issuedAt: string;
  verifyUrl: string;
}

function rows(c: Cert): Array<[string, string]> {
  const content = c.content;
  const fields = Array.isArray(content.fields)
    ? (content.fields as Array<{ label?: string; name?: string }>).map((f) => f.label ?? f.name).join('、')
    : '';
  return [
    ['登记编码 Code', `${c.code}（第 ${c.version} 版）`],
    ['状态 Status', c.status === 'cancelled' ? '已注销 cancelled' : '已登记 registered'],
    ['登记类型 Kind', KIND_ZH[c.kind] ?? c.kind],
    ['登记对象 Subject', `${SUBJECT_ZH[c.subject.type] ?? c.subject.type}：${c.subject.name}`],
    ['登记主体 Holder', `${c.holder.name}（${c.holder.uscc}）`],
    ['摘要 Summary', String(content.summary ?? '')],
    ['数据项 Fields', fields],
    ['数据量 Volume', String(content.volume ?? '')],
    ['数据来源 Source', String(content.source ?? '')],
    ['更新频率 Update cycle', String(content.updateCycle ?? '')],
    ['数据分级 Grade', String(content.grade ?? '')],
    ['存储 Storage', `${content.storageLocation ?? ''}；${content.storageMethod ?? ''}`],
    ['拟使用用途 Intended use', String(content.intendedUse ?? '')],
    ['授权运营范围 Operation scope', String(content.operationScope ?? '')],
    ['承诺书 Commitment', `${c.commitment.signatory ?? ''} ${c.commitment.signedOn ?? ''}`],
    ['登记日期 Registered on', c.registeredOn],
    ['有效期至 Valid until', c.validUntil],
  ];
}

export async function certificatePage(history: CertificateHistory, verifyUrl: string, fingerprint: string) {
  const c = history.current.certificate as unknown as Cert;
  const qr = await qrSvg(verifyUrl);
  const table = rows(c)
    .map(([k, v]) => `<tr><th>${html(k)}</th><td>${html(v)}</td></tr>`)
    .join('');
  const versions = history.versions
    .map(
      (v) =>
        `<tr><td>${v.version}</td><td>${html(KIND_ZH[v.kind] ?? v.kind)}</td><td>${html(v.status)}</td><td>${html(v.issuedAt)}</td>` +
        `<td><a href="/v1/registry/certificates/${html(history.code)}/versions/${v.version}">JSON</a></td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>公共数据资源登记 ${html(history.code)}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #d0d7de;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;width:14rem}.status{font-size:1.2rem;font-weight:600}.cancelled{color:#cf222e}.registered{color:#1a7f37}
.qr svg{width:9rem;height:9rem}code{word-break:break-all}</style></head>
<body><h1>公共数据资源登记结果 <small>Registration result</small></h1>
<p class="status ${history.status}">${history.status === 'cancelled' ? '已注销 / Cancelled' : '有效登记 / Registered'}</p>
<div class="qr">${qr}</div>
<table>${table}</table>
<h2>历史版本 History</h2>
<table><tr><th>版本</th><th>类型</th><th>状态</th><th>签发时间</th><th>签名文件</th></tr>${versions}</table>
<p>证书以平台 SM2 密钥签名（GB/T 32918.2，SM3，签名者 ID 为空）；公钥指纹 <code>${html(fingerprint)}</code>。
离线核验：<code>shutong registry verify-certificate 证书.json --pubkey 公钥.pem</code>；公钥见 <a href="/v1/registry/public-key">/v1/registry/public-key</a>。</p>
</body></html>`;
}

export async function certificatePdf(signed: SignedCertificate, verifyUrl: string): Promise<Buffer> {
  const c = signed.certificate as unknown as Cert;
  const qr = await qrPng(verifyUrl);
  return renderPdf({
    info: { title: `公共数据资源登记证书 ${c.code}`, subject: c.subject.name },
    content: [
      { text: '公共数据资源登记证书', fontSize: 20, alignment: 'center', margin: [0, 0, 0, 4] },
      {
        text: 'Public Data Registration Certificate',
        fontSize: 11,
        alignment: 'center',
        margin: [0, 0, 0, 16],
      },
      c.status === 'cancelled'
        ? {
            text: '本登记已注销 / This registration is cancelled',
            color: '#cf222e',
            fontSize: 12,
            margin: [0, 0, 0, 8],
          }
        : '',
      {
        table: { widths: [130, '*'], body: rows(c).map(([k, v]) => [{ text: k, fillColor: '#f2f2f2' }, v]) },
        layout: 'lightHorizontalLines',
      },
      {
        columns: [
          {
            width: '*',
            stack: [
              { text: `签发时间 Issued: ${c.issuedAt}`, margin: [0, 16, 0, 4] },
              { text: `核验 Verify: ${verifyUrl}`, fontSize: 8 },
              {
                text: `SM2 签名指纹 Key fingerprint: ${signed.signature.publicKeyFingerprint}`,
                fontSize: 7,
                margin: [0, 4, 0, 0],
              },
            ],
          },
          { width: 110, image: qr, fit: [110, 110], margin: [0, 12, 0, 0] },
        ],
      },
    ],
  });
}
