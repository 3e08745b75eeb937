import { type Static, Type } from 'typebox';

/**
 * Schema pieces every capability's schema.ts uses. Fastify serializes each reply by its route's
 * response schema, so these describe what is sent, not only what is documented.
 */

/** `schema` or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

/** Any JSON value, sent as it is (free-form documents: job progress, import reports, JSON-LD). */
export const Json = Type.Unknown();

/** An object whose properties are not fixed (terms, flags, reports), sent as it is. */
export const JsonObject = Type.Unsafe<object>({ type: 'object', additionalProperties: {} });

/** A PDF document, sent as its bytes. */
export const PdfBody = Type.Unsafe<Uint8Array>({
  type: 'string',
  format: 'binary',
  description: 'application/pdf',
});

/**
 * The one error body of the whole API (core/errors.ts builds it): registered once by the server
 * and referenced by every route's 4xx and 5xx answers.
 */
export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      messages: Type.Object({ 'zh-CN': Type.String(), en: Type.String() }),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  },
  { $id: 'ErrorReply', description: '错误 / Error' },
);

/** A reference to the registered ErrorReply, for a route that answers an error itself (503). */
export const ErrorRef = Type.Unsafe<Static<typeof ErrorReply>>({ $ref: 'ErrorReply#' });
