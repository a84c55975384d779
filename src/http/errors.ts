import { isGrpcServiceError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { HeraldError, type HeraldErrorCode } from '../errors.js';

/**
 * The API's one error type and its one renderer. Everything a handler or middleware throws ends here
 * (`app.onError(renderError)`) and leaves as `{"error":{"code","message","field"?}}`:
 * 400 validation (naming the field), 401 no or bad token, 403 forbidden, 404 not found, 409 conflict,
 * 413 too large, 415 not JSON, 422 well-formed but not processable, 503 Temporal not answering (retry), 500
 * anything unexpected (logged, never echoed).
 */
export type HttpErrorCode =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'unavailable'
  | 'internal';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: HttpErrorCode,
    message: string,
    readonly field?: string,
    /** Extra response headers (e.g. `WWW-Authenticate`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

const STATUS_OF: Record<HeraldErrorCode, ContentfulStatusCode> = { validation: 400, payload_too_large: 413, forbidden: 403, not_found: 404, conflict: 409 };

/** The client's typed errors, Hono's own exceptions and Temporal's not-found, as HttpErrors; undefined for anything else. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof HeraldError) return new HttpError(STATUS_OF[err.code], err.code, err.message, err.field);
  if (err instanceof WorkflowNotFoundError) return new HttpError(404, 'not_found', err.message);
  if (temporalUnavailable(err)) return new HttpError(503, 'unavailable', 'Temporal did not answer; retry later', undefined, { 'Retry-After': '5' });
  if (err instanceof HTTPException) {
    // Raised by Hono's validators and middleware: malformed JSON, a body that is not JSON.
    if (err.status === 415) return new HttpError(415, 'unsupported_media_type', 'the request body must be JSON (Content-Type: application/json)');
    if (err.status === 413) return new HttpError(413, 'payload_too_large', err.message || 'the request body is too large', 'body');
    if (err.status === 400) return new HttpError(400, 'validation', `body: ${err.message || 'bad request'}`, 'body');
    if (err.status === 401) return new HttpError(401, 'unauthorized', err.message || 'unauthorized');
    if (err.status === 404) return new HttpError(404, 'not_found', err.message || 'not found');
  }
  return undefined;
}

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4) from Temporal, bare or wrapped in the client's ServiceError. */
const RETRYABLE_GRPC_CODES = new Set([4, 14]);
function temporalUnavailable(err: unknown): boolean {
  const grpc = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpc) && RETRYABLE_GRPC_CODES.has(grpc.code);
}

export interface ErrorLogger {
  error(obj: object, message: string): void;
}

/** The one place errors become responses. */
export function errorRenderer(logger?: ErrorLogger) {
  return (err: Error, c: Context): Response => {
    const http = toHttpError(err);
    if (!http) {
      logger?.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error in the HTTP API');
      return c.json({ error: { code: 'internal', message: 'internal error: see the server log' } } satisfies ErrorBody, 500);
    }
    const body: ErrorBody = { error: { code: http.code, message: http.message, ...(http.field !== undefined ? { field: http.field } : {}) } };
    return c.json(body, http.status, http.headers);
  };
}

/** A 404 in the same shape for paths no route serves. */
export function notFoundRenderer(c: Context): Response {
  return c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } } satisfies ErrorBody, 404);
}

/**
 * The first zod issue as a 400 naming its field: `eventTypes.0`, `retrySchedule`, a query parameter, or the
 * unknown key of a strict object. `prefix` names where the value came from when the path is empty.
 */
export function validationError(error: ZodError, whole: string): HttpError {
  const issue = error.issues[0];
  if (!issue) return new HttpError(400, 'validation', `${whole}: is invalid`, whole);
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path, ...keys.slice(0, 1)].map(String);
  const field = path.length ? path.join('.') : whole;
  const reason = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? 'is required' : issue.message;
  return new HttpError(400, 'validation', `${field}: ${reason}`, field);
}
