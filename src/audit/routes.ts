import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as S from './schema.ts';
import * as audit from './service.ts';

const read = audit.AUDIT_READ;
const tags = ['audit'];

/**
 * Read-only by design: there is no route that changes or removes an entry (PUT, PATCH and
 * DELETE answer 404). The only write is signing a new tree head.
 */
export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/audit/export.csv',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '审计日志导出 CSV / Export the audit log as CSV',
        description:
          'The filters of /v1/audit/entries; newest first, UTF-8 with BOM, times in Beijing time, at most ' +
          `${audit.AUDIT_EXPORT_MAX_ROWS} rows. X-Export-Rows gives the row count; X-Export-Truncated ` +
          'the maximum when more entries matched. The export is audited (audit.export).',
        querystring: S.ExportQuery,
        response: { 200: S.ExportCsv },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const out = await audit.exportEntries(req.ctx, {
        actorId: q.actor,
        orgId: q.org,
        objectType: q.objectType,
        objectId: q.objectId,
        action: q.action,
        from: q.from === undefined ? undefined : new Date(q.from),
        to: q.to === undefined ? undefined : new Date(q.to),
      });
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit-log.csv"')
        .header('x-export-rows', String(out.rows));
      if (out.truncated) reply.header('x-export-truncated', String(out.maxRows));
      return reply.send(Readable.from(out.lines) as never);
    },
  );

  app.get(
    '/v1/audit/entries',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '审计日志查询 / Read the audit log',
        querystring: S.EntryQuery,
        response: { 200: S.EntryPage },
      },
    },
    (req) => {
      const q = req.query;
      return audit.listEntries(req.ctx, {
        actorId: q.actor,
        orgId: q.org,
        objectType: q.objectType,
        objectId: q.objectId,
        action: q.action,
        from: q.from === undefined ? undefined : new Date(q.from),
        to: q.to === undefined ? undefined : new Date(q.to),
        order: q.order,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  app.get(
    '/v1/audit/witnesses',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '审计见证方 / Witnesses of the audit log and whether the log is consistent with them',
        response: { 200: S.WitnessOverview },
      },
    },
    (req) => audit.witnessOverview(req.ctx),
  );

  app.get(
    '/v1/audit/entries/:seq',
    {
      config: { access: read },
      schema: { tags, summary: '审计条目 / One entry', params: S.SeqParams, response: { 200: S.Entry } },
    },
    (req) => audit.getEntry(req.ctx, req.params.seq),
  );

  app.get(
    '/v1/audit/tree-heads',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '已签名树头 / Signed tree heads, newest first',
        querystring: S.HeadQuery,
        response: { 200: S.HeadPage },
      },
    },
    (req) => audit.listHeads(req.ctx, req.query.limit, req.query.cursor),
  );

  app.get(
    '/v1/audit/tree-heads/latest',
    {
      config: { access: read },
      schema: { tags, summary: '最新树头 / The largest signed tree head', response: { 200: S.Head } },
    },
    (req) => audit.latestHead(req.ctx),
  );

  app.post(
    '/v1/audit/tree-heads',
    {
      config: { access: read },
      schema: { tags, summary: '立即签发树头 / Sign a tree head now', response: { 201: S.Head } },
    },
    async (req, reply) => reply.status(201).send((await audit.signHead(req.ctx))!),
  );

  app.get(
    '/v1/audit/proofs/inclusion',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '包含性证明 / Inclusion proof of an entry',
        querystring: S.InclusionQuery,
        response: { 200: S.InclusionProof },
      },
    },
    (req) => audit.proveInclusion(req.ctx, req.query.seq, req.query.treeSize),
  );

  app.get(
    '/v1/audit/proofs/consistency',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '一致性证明 / Consistency proof between two tree sizes',
        querystring: S.ConsistencyQuery,
        response: { 200: S.ConsistencyProof },
      },
    },
    (req) => audit.proveConsistency(req.ctx, req.query.from, req.query.to),
  );

  app.get(
    '/v1/audit/public-key',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: '树头验签公钥 / The SM2 public key that signs tree heads',
        response: { 200: S.PublicKey },
      },
    },
    (req) => audit.publicKey(req.ctx),
  );
};
