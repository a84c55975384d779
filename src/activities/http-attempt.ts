// One HTTP attempt, nothing more: no retries (Temporal owns those), no redirects (a 3xx is the
// receiver's answer, and following it would be an SSRF bypass), and one deadline for the whole exchange.
import { StringDecoder } from 'node:string_decoder';

import { request } from 'undici';
import type { Dispatcher } from 'undici';

import { findEgressRefusal } from '../egress/egress-refusal.js';
import { traceHttpAttempt } from '../telemetry/spans.js';

/** Only this much of a response body is kept (for the delivery log); the rest is never read. */
export const RESPONSE_BODY_LIMIT_BYTES = 16 * 1024;

export interface HttpAttemptInput {
  readonly url: string;
  /** Defaults to POST. */
  readonly method?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The exact signed bytes; sent unchanged. */
  readonly body?: string;
  /** Covers connecting, waiting for headers and reading the (kept part of the) body. */
  readonly timeoutMs: number;
  /** Normally the egress-guarded Agent; its connect-time checks are what make this call SSRF-safe. */
  readonly dispatcher: Dispatcher;
  /** Temporal's `cancellationSignal()`; aborting it aborts the attempt. */
  readonly signal?: AbortSignal;
}

export interface HttpAttemptResult {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** The first RESPONSE_BODY_LIMIT_BYTES of the body as UTF-8 text (a character cut in half is dropped). */
  readonly responseBody: string;
  readonly responseBodyTruncated: boolean;
  readonly durationMs: number;
}

/**
 * - `timeout`: the attempt's deadline (or undici's connect timeout) passed;
 * - `network`: DNS, connect, reset, protocol errors;
 * - `refused`: the egress guard refused the destination;
 * - `aborted`: the caller's signal fired (Temporal cancelled the activity): not a delivery outcome;
 * - `invalid`: the request cannot be sent as given (bad URL or scheme, GET with a body).
 */
export type HttpAttemptErrorKind = 'timeout' | 'network' | 'refused' | 'aborted' | 'invalid';

export class HttpAttemptError extends Error {
  readonly kind: HttpAttemptErrorKind;
  /** The underlying error's `code` when it has one (ECONNREFUSED, UND_ERR_SOCKET, HERALD_EGRESS_REFUSED…). */
  readonly code: string | undefined;
  readonly durationMs: number;

  constructor(kind: HttpAttemptErrorKind, message: string, options: { cause?: unknown; code?: string; durationMs: number }) {
    super(message, { cause: options.cause });
    this.name = 'HttpAttemptError';
    this.kind = kind;
    this.code = options.code;
    this.durationMs = options.durationMs;
  }
}

/** One attempt, in a CLIENT span (`POST <host>`) when tracing is on. */
export async function performHttpAttempt(input: HttpAttemptInput): Promise<HttpAttemptResult> {
  return await traceHttpAttempt({ method: (input.method ?? 'POST').toUpperCase(), url: input.url }, () => attemptOnce(input));
}

async function attemptOnce(input: HttpAttemptInput): Promise<HttpAttemptResult> {
  const startedAt = performance.now();
  const elapsedMs = (): number => Math.round(performance.now() - startedAt);
  const method = (input.method ?? 'POST').toUpperCase();

  validateRequest(input, method, elapsedMs);
  if (input.signal?.aborted) {
    throw abortedError(input.signal, elapsedMs());
  }

  // One controller carries both the deadline and the caller's cancellation, so undici sees one signal
  // for connect, headers and body alike (ObjectStack's timer stopped at the headers; a receiver that
  // trickled its body could hold a worker slot forever).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timeout after ${input.timeoutMs}ms`));
  }, input.timeoutMs);
  const onCallerAbort = (): void => controller.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    const response = await request(input.url, {
      method: method as Dispatcher.HttpMethod,
      headers: { ...input.headers },
      body: input.body,
      dispatcher: input.dispatcher,
      signal: controller.signal,
      // undici's own per-phase timers (300 s by default) are set to the same budget so that neither can
      // outlive the overall deadline.
      headersTimeout: input.timeoutMs,
      bodyTimeout: input.timeoutMs,
    });
    const { text, truncated } = await readLimited(response.body, response.headers['content-length']);
    return {
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      responseBody: text,
      responseBodyTruncated: truncated,
      durationMs: elapsedMs(),
    };
  } catch (error) {
    throw toAttemptError(error, { input, timedOut, durationMs: elapsedMs() });
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function validateRequest(input: HttpAttemptInput, method: string, elapsedMs: () => number): void {
  let protocol: string;
  try {
    protocol = new URL(input.url).protocol;
  } catch {
    throw new HttpAttemptError('invalid', `invalid URL: ${JSON.stringify(input.url)}`, { durationMs: elapsedMs() });
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new HttpAttemptError('invalid', `unsupported URL scheme ${protocol} (only http: and https:)`, { durationMs: elapsedMs() });
  }
  if ((method === 'GET' || method === 'HEAD') && input.body !== undefined) {
    throw new HttpAttemptError('invalid', `${method} requests cannot carry a body`, { durationMs: elapsedMs() });
  }
  if (!Number.isFinite(input.timeoutMs) || input.timeoutMs <= 0) {
    throw new HttpAttemptError('invalid', `timeoutMs must be a positive number, got ${input.timeoutMs}`, { durationMs: elapsedMs() });
  }
}

/** Reads up to the limit, then stops: breaking out of the iterator destroys the stream (and socket). */
async function readLimited(
  body: AsyncIterable<Buffer>,
  contentLength: string | string[] | undefined,
): Promise<{ text: string; truncated: boolean }> {
  // StringDecoder holds back an incomplete trailing UTF-8 sequence instead of emitting U+FFFD.
  const decoder = new StringDecoder('utf8');
  let text = '';
  let received = 0;
  let truncated = false;
  for await (const chunk of body) {
    const room = RESPONSE_BODY_LIMIT_BYTES - received;
    if (chunk.length > room) {
      text += decoder.write(chunk.subarray(0, room));
      truncated = true;
      break;
    }
    text += decoder.write(chunk);
    received += chunk.length;
    if (received === RESPONSE_BODY_LIMIT_BYTES) {
      // Exactly at the limit. Waiting for end-of-stream could stall on a slow receiver, so stop here and
      // trust Content-Length to say whether anything was left; without it, assume something was.
      truncated = typeof contentLength !== 'string' || Number(contentLength) !== RESPONSE_BODY_LIMIT_BYTES;
      if (!truncated) text += decoder.end();
      return { text, truncated };
    }
  }
  if (!truncated) text += decoder.end();
  return { text, truncated };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

const UNDICI_TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function toAttemptError(
  error: unknown,
  context: { input: HttpAttemptInput; timedOut: boolean; durationMs: number },
): HttpAttemptError {
  const { input, timedOut, durationMs } = context;
  const code = errorCode(error);
  // Order matters: once our deadline or the caller's signal fired, whatever undici threw is a
  // consequence of that abort, not a separate failure.
  if (timedOut) {
    return new HttpAttemptError('timeout', `timeout after ${input.timeoutMs}ms`, { cause: error, code: 'ETIMEDOUT', durationMs });
  }
  if (input.signal?.aborted) {
    return abortedError(input.signal, durationMs);
  }
  const refusal = findEgressRefusal(error);
  if (refusal) {
    return new HttpAttemptError('refused', refusal.message, { cause: refusal, code: refusal.code, durationMs });
  }
  if (code !== undefined && UNDICI_TIMEOUT_CODES.has(code)) {
    // undici's header/body timers carry the same budget as ours and may win the race by a tick; say the
    // same thing either way. Its connect timeout is the dispatcher's own (shorter) limit: keep its text.
    const message = code === 'UND_ERR_CONNECT_TIMEOUT' ? describe(error) : `timeout after ${input.timeoutMs}ms`;
    return new HttpAttemptError('timeout', message, { cause: error, code, durationMs });
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return new HttpAttemptError('invalid', describe(error), { cause: error, code, durationMs });
  }
  return new HttpAttemptError('network', describe(error), { cause: error, code, durationMs });
}

function abortedError(signal: AbortSignal, durationMs: number): HttpAttemptError {
  // `cause` is the signal's reason (Temporal's CancelledFailure), so the activity can rethrow it.
  return new HttpAttemptError('aborted', 'aborted by caller', { cause: signal.reason, code: 'ABORT_ERR', durationMs });
}

function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/**
 * A message that says what happened on the wire. Node's own messages are already good
 * ("connect ECONNREFUSED 127.0.0.1:1234"); undici's socket errors ("other side closed") and
 * AggregateErrors from dual-stack connects (empty message) get their underlying causes appended.
 */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof AggregateError && error.errors.length > 0) {
    const parts = error.errors.map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner)));
    return error.message ? `${error.message}: ${parts.join('; ')}` : parts.join('; ');
  }
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const causeCode = errorCode(cause);
  if (cause && cause.message && !error.message.includes(cause.message)) {
    return `${error.message} (${causeCode ? `${causeCode}: ` : ''}${cause.message})`;
  }
  const code = errorCode(error);
  if (code && !error.message.includes(code) && !code.startsWith('UND_ERR')) return `${error.message} (${code})`;
  return error.message || code || error.name;
}
