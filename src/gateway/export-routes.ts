import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../core/errors.ts';
import { EXPORT_BATCH_ROWS, EXPORT_MEDIA_TYPES, exportManifest, startExport } from './export.ts';
import { ExportFormatQuery, ExportManifest, exportContent } from './schema.ts';
import * as gateway from './service.ts';

const access = { roles: 'any', scope: 'gateway' } as const;
const tags = ['gateway'];
const ContractParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/gateway/contracts/:id/export',
    {
      config: { access },
      schema: {
        tags,
        summary: '按协议导出训练数据 / Export the contract view for training',
        description:
          "The contract's whole view as one file: the granted fields under today's masks (applied in SQL, as on " +
          "the rows endpoint), the contract's row filter, in the contract's keyed row order. `format=jsonl` " +
          `(default) or \`parquet\` (one row group per ${EXPORT_BATCH_ROWS} rows). Needs the \`rows\` operation ` +
          "(an aggregate-only contract is refused); the whole view is taken from today's row quota before the " +
          'first byte (429 when it does not fit), rows of a dropped download are given back. Recorded as ' +
          '`gateway.rows` with `export` in the audit log. The manifest (`…/export/manifest`) gives the SM3 digest.',
        params: ContractParams,
        querystring: ExportFormatQuery,
        response: { 200: exportContent },
      },
    },
    async (req, reply) => {
      const started = Date.now();
      const format = req.query.format ?? 'jsonl';
      try {
        const granted = await gateway.admit(req.ctx, req.params.id, 'rows', req.ip);
        const exported = await startExport(req.ctx, granted, format, started);
        if (granted.changedFields.length > 0)
          reply.header('x-changed-fields', granted.changedFields.map((f) => f.name).join(','));
        reply.header('x-export-rows', String(exported.rows));
        reply.header(
          'content-disposition',
          `attachment; filename="${granted.contract.id}-${granted.versionId}.${format}"`,
        );
        // A stream is sent as it is; the schema documents the body.
        return reply.type(EXPORT_MEDIA_TYPES[format]).send(Readable.from(exported.stream) as never);
      } catch (error) {
        const outcome = error instanceof AppError ? error.code : 'INTERNAL';
        await gateway
          .recordCall(req.ctx, { operation: 'rows', contractId: req.params.id, outcome, started })
          .catch(() => {});
        if (error instanceof AppError && (error.code === 'RATE_LIMITED' || error.code === 'QUOTA_EXCEEDED')) {
          const resetAt = Date.parse(String(error.details.resetAt));
          if (Number.isFinite(resetAt))
            reply.header('retry-after', Math.max(1, Math.ceil((resetAt - Date.now()) / 1000)));
        }
        throw error;
      }
    },
  );

  app.get(
    '/v1/gateway/contracts/:id/export/manifest',
    {
      config: { access },
      schema: {
        tags,
        summary: '导出清单 / Manifest of the export',
        description:
          'Rows, fields (types and masks), the SM3 digest and size of the file `…/export?format=` would send now, ' +
          "the dataset version and the contract's terms. It produces the file to digest it and sends no row: " +
          'it counts against the rate limit, not the row quota.',
        params: ContractParams,
        querystring: ExportFormatQuery,
        response: { 200: ExportManifest },
      },
    },
    async (req) => {
      const started = Date.now();
      const format = req.query.format ?? 'jsonl';
      let outcome = 'ok';
      try {
        const granted = await gateway.admit(req.ctx, req.params.id, 'rows', req.ip);
        return await exportManifest(req.ctx, granted, format);
      } catch (error) {
        outcome = error instanceof AppError ? error.code : 'INTERNAL';
        throw error;
      } finally {
        await gateway
          .recordCall(req.ctx, {
            operation: 'rows',
            contractId: req.params.id,
            outcome,
            started,
            export: { format, complete: outcome === 'ok', manifest: true },
          })
          .catch(() => {});
      }
    },
  );
};
