import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { newId } from '../core/ids.ts';
import { receiveBody } from '../core/upload.ts';
import { FilePreview, ImportJob, ImportResult, ImportStarted, Version } from './schema.ts';
import * as ingest from './service.ts';

const read = { roles: 'any', scope: 'catalog:read' } as const;
const write = { roles: 'any', scope: 'catalog:write' } as const;
const tags = ['ingest'];
const PREVIEW_LIMIT_BYTES = 16 * 1024 * 1024;

const FileOptions = {
  filename: Type.Optional(
    Type.String({ maxLength: 255, description: 'original file name (format is detected from it)' }),
  ),
  format: Type.Optional(Type.Enum(['csv', 'xlsx', 'json', 'ndjson', 'parquet'] as const)),
  encoding: Type.Optional(Type.Enum(['utf-8', 'gb18030', 'gbk', 'gb2312'] as const)),
  delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
  sheet: Type.Optional(Type.String({ maxLength: 100 })),
};

const ImportQuery = Type.Object({
  ...FileOptions,
  maxErrors: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  adoptInferredFields: Type.Optional(Type.Boolean({ default: false })),
  allowEmpty: Type.Optional(
    Type.Boolean({ default: false, description: 'make a version of no rows (a header-only file) current' }),
  ),
  wait: Type.Optional(Type.Boolean({ default: false, description: 'answer when the import has finished' })),
});
const ResourceParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const VersionParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  number: Type.Integer({ minimum: 1 }),
});

/**
 * Streams the request body to a file in the node's upload area (core/upload.ts counts it against
 * the limit and hashes it with SM3 on the way): nothing is held in memory.
 */
async function receive(
  req: FastifyRequest,
  reply: FastifyReply,
  limit: number,
): Promise<{ file: string; size: number; sm3: string }> {
  const dir = path.join(req.ctx.config.dataDir, 'uploads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Never the client's file name on disk: ours only, so no path traversal.
  const file = path.join(dir, `${newId('job').slice(4)}.upload`);
  try {
    return { file, ...(await receiveBody(req, reply, limit, createWriteStream(file, { mode: 0o600 }))) };
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

function fileOptions(q: {
  filename?: string;
  format?: ingest.ImportOptions['format'];
  encoding?: string;
  delimiter?: string;
  sheet?: string;
}) {
  const options: ingest.ImportOptions = {};
  if (q.filename) options.sourceName = q.filename;
  if (q.format) options.format = q.format;
  if (q.encoding) options.encoding = q.encoding;
  if (q.delimiter) options.delimiter = q.delimiter;
  if (q.sheet) options.sheet = /^\d+$/.test(q.sheet) ? Number(q.sheet) : q.sheet;
  return options;
}

export const ingestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Uploads are raw bodies of any type, streamed by the handler (this plugin only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.post(
    '/v1/imports/preview',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '预览文件：编码、表头、推断字段 / Preview a file: encoding, header, inferred fields',
        description: 'Send the file (or its first megabytes) as the raw request body.',
        querystring: Type.Object(FileOptions),
        response: { 200: FilePreview },
      },
    },
    async (req, reply) => {
      const upload = await receive(req, reply, PREVIEW_LIMIT_BYTES);
      try {
        return await ingest.previewFile(upload.file, {
          ...fileOptions(req.query),
          memoryBytes: ingest.importMemoryBytes(req.ctx.config),
        });
      } finally {
        await rm(upload.file, { force: true });
      }
    },
  );

  app.post(
    '/v1/resources/:id/versions',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '导入新版本数据（流式上传）/ Import a new version (streamed upload)',
        description:
          'The raw request body is the file (CSV/TSV, XLSX, JSON, NDJSON, Parquet; UTF-8 or GB18030). ' +
          'Answers 202 with the import job, or with wait=true 201 with the result when it has finished.',
        params: ResourceParams,
        querystring: ImportQuery,
        response: { 201: ImportResult, 202: ImportStarted },
      },
    },
    async (req, reply) => {
      const upload = await receive(req, reply, req.ctx.config.uploadLimitBytes);
      let prepared: ingest.PreparedImport;
      try {
        prepared = await ingest.prepareImport(req.ctx, req.params.id, upload.file, {
          ...fileOptions(req.query),
          sourceName: req.query.filename ?? 'upload',
          sourceSm3: upload.sm3,
          maxErrors: req.query.maxErrors ?? 0,
          adoptInferredFields: req.query.adoptInferredFields ?? false,
          allowEmpty: req.query.allowEmpty ?? false,
        });
      } catch (error) {
        await rm(upload.file, { force: true });
        throw error;
      }
      const running = prepared.run().finally(() => rm(upload.file, { force: true }));
      if (req.query.wait) return reply.status(201).send(await running);
      running.catch((error) => req.log.warn({ err: error, job: prepared.jobId }, 'import failed'));
      return reply
        .status(202)
        .send({ jobId: prepared.jobId, versionNumber: prepared.versionNumber, state: 'running' });
    },
  );

  app.get(
    '/v1/resources/:id/versions',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '数据版本 / Versions',
        params: ResourceParams,
        response: { 200: Type.Array(Version) },
      },
    },
    (req) => ingest.listVersions(req.ctx, req.params.id),
  );

  app.get(
    '/v1/resources/:id/versions/:number',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '一个数据版本 / One version',
        params: VersionParams,
        response: { 200: Version },
      },
    },
    (req) => ingest.getVersion(req.ctx, req.params.id, req.params.number),
  );

  app.post(
    '/v1/resources/:id/versions/:number/activate',
    {
      config: { access: write },
      schema: {
        tags,
        summary: '切换当前版本（回滚）/ Make a version current (roll back)',
        params: VersionParams,
        response: { 200: Version },
      },
    },
    (req) => ingest.activateVersion(req.ctx, req.params.id, req.params.number),
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { access: read },
      schema: {
        tags,
        summary: '任务状态与进度 / Job status and progress',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: ImportJob },
      },
    },
    (req) => ingest.getImportJob(req.ctx, req.params.id),
  );
};
