import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
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
      const format = req.query.format ?? 'jsonl';
      const call = { contractId: req.params.id, operation: 'rows' as const, clientIp: req.ip };
      try {
        return await gateway.underContract(req.ctx, call, async (granted, started) => {
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
        });
      } catch (error) {
        const seconds = gateway.retryAfterSeconds(error);
        if (seconds !== null) reply.header('retry-after', seconds);
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
    (req) => {
      const format = req.query.format ?? 'jsonl';
      const exported = { format, complete: true, manifest: true };
      const call = {
        contractId: req.params.id,
        operation: 'rows' as const,
        clientIp: req.ip,
        export: exported,
      };
      return gateway.underContract(req.ctx, call, async (granted, started) => {
        const manifest = await exportManifest(req.ctx, granted, format);
        await gateway.recordCall(req.ctx, { ...call, outcome: 'ok', started, export: exported });
        return manifest;
      });
    },
  );
};
