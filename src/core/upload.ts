import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

/** What a streamed upload turned out to be: its length and its SM3, hex. */
export interface ReceivedBody {
  size: number;
  sm3: string;
}

/**
 * Streams a raw request body into `sink`, counting bytes against `limit` and hashing them with SM3
 * on the way, so the digest is known without a second read. A declared Content-Length over the
 * limit is refused before a byte is read, and a body that grows past it is cut at the chunk that
 * crosses it: the sink never receives more than `limit` bytes. An empty body is 400.
 * Routes using it take the body unparsed (a `*` content-type parser that hands the stream on).
 */
export async function receiveBody(
  req: FastifyRequest,
  reply: FastifyReply,
  limit: number,
  sink: Writable,
): Promise<ReceivedBody> {
  // The rest of the body stays unread, so the connection cannot carry another request: close it
  // after the answer (kept alive, the client's next request on it would wait forever).
  const abandon = () => reply.header('connection', 'close');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    abandon();
    await discard(sink);
    throw new AppError('PAYLOAD_TOO_LARGE', { limitBytes: limit });
  }
  const hash = createHash('sm3');
  let size = 0;
  // Read by hand rather than piped: a pipeline destroys the request on the limit's error, which
  // resets the connection before the 413 can be sent. Left undestroyed, the unread rest is
  // dropped when the answer closes the connection.
  const body = req.raw.iterator({ destroyOnReturn: false });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', { limitBytes: limit });
      hash.update(chunk);
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    sink.end();
    await finished(sink);
  } catch (error) {
    await discard(sink);
    abandon();
    throw error instanceof AppError
      ? error
      : new AppError('BAD_REQUEST', { field: 'body' }, { zh: '上传中断', en: 'the upload was interrupted' });
  }
  if (size === 0) {
    throw new AppError('BAD_REQUEST', { field: 'body' }, { zh: '文件为空', en: 'the file is empty' });
  }
  return { size, sm3: hash.digest('hex') };
}

/**
 * Destroys the sink and waits until it is closed. A file stream still opening when destroyed
 * creates its file after that: the caller removing the file must wait for the close, or the
 * refused upload's file stays behind (seen under load in the reliability suite).
 */
async function discard(sink: Writable): Promise<void> {
  if (sink.closed) return;
  const closed = once(sink, 'close').then(
    () => {},
    () => {},
  );
  sink.destroy();
  await closed;
}

/** A sink that keeps the chunks in memory, for small uploads stored whole (bounded by the caller's limit). */
export function memorySink(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

/**
 * A Content-Disposition naming a file whose name may be Chinese: an ASCII `filename` for old
 * clients (anything else becomes `_`) and the exact name as RFC 5987 `filename*` in UTF-8.
 */
export function contentDisposition(kind: 'inline' | 'attachment', fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
