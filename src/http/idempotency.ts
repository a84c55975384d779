import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { UniqueViolationError, type DataEngine } from '../store/data-engine.js';
import { heraldIdempotencyKeys, type IdempotencyKeyRow } from '../store/schema.js';
import type { SecretBox } from '../store/secret-box.js';
import { callerScope, type AuthVariables } from './auth.js';
import { HttpError } from './errors.js';

/**
 * `Idempotency-Key` on POSTs: the first request with a key runs and, if it succeeds (2xx), its response is
 * kept for 24 h; the same key with the same request (method, path, body bytes) gets that response again,
 * with `Idempotent-Replayed: true`, and nothing runs twice. The same key with a different request is a 409,
 * and so is a repeat while the first is still running. A failed request (4xx, 5xx) keeps nothing, so it may be
 * retried under the same key. Keys are per caller scope (admin, or one tenant).
 *
 * Kept through the DataEngine (`herald_idempotency_keys`), so every API process sharing the database shares
 * the keys. Stored responses are sealed: a webhook's create response carries its secret.
 */
const KEYS = heraldIdempotencyKeys.name;

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A request still `in_progress` after this is taken to have died with its process; its key may be reused. */
export const IN_PROGRESS_TIMEOUT_MS = 60_000;
/** Expired keys are deleted at most this often, piggybacked on requests. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const KEY_PATTERN = /^[\x21-\x7e]+$/;
/** Response headers worth replaying (the body's type and a created resource's location). */
const KEPT_HEADERS = ['content-type', 'location'];

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type BeginResult =
  | { kind: 'proceed'; id: string; createdAt: number }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'conflict'; reason: string };

export interface IdempotencyStore {
  /** Claims the key for this request, or says what to answer instead. */
  begin(scope: string, key: string, requestHash: string): Promise<BeginResult>;
  /** The claimed request succeeded: keep its response. */
  complete(id: string, createdAt: number, response: StoredResponse): Promise<void>;
  /** The claimed request failed: forget the key, so it may be retried. */
  release(id: string, createdAt: number): Promise<void>;
  /** Deletes expired keys; returns how many. */
  sweep(): Promise<number>;
}

export function idempotencyRowId(scope: string, key: string): string {
  return `idk_${createHash('sha256').update(`${scope}\n${key}`).digest('hex').slice(0, 40)}`;
}

export function createIdempotencyStore(deps: { engine: DataEngine; box: SecretBox; clock?: () => number; ttlMs?: number }): IdempotencyStore {
  const { engine, box } = deps;
  const clock = deps.clock ?? Date.now;
  const ttlMs = deps.ttlMs ?? IDEMPOTENCY_TTL_MS;
  let lastSweep = 0;

  const store: IdempotencyStore = {
    async begin(scope, key, requestHash) {
      const id = idempotencyRowId(scope, key);
      if (clock() - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = clock();
        void store.sweep().catch(() => undefined);
      }
      // A few rounds at most: each lost race means another request changed the row meanwhile.
      for (let round = 0; round < 3; round += 1) {
        const now = clock();
        const row = await engine.findOne<IdempotencyKeyRow>(KEYS, { where: { id } });
        if (!row) {
          try {
            await engine.insert(KEYS, {
              id,
              scope,
              idempotency_key: key,
              request_hash: requestHash,
              status: 'in_progress',
              response_status: null,
              response_sealed: null,
              created_at: now,
              updated_at: now,
              expires_at: now + ttlMs,
            });
            return { kind: 'proceed', id, createdAt: now };
          } catch (err) {
            if (err instanceof UniqueViolationError) continue;
            throw err;
          }
        }
        if (row.expires_at <= now) {
          await engine.delete(KEYS, { where: { id, created_at: row.created_at } });
          continue;
        }
        if (row.request_hash !== requestHash) {
          return { kind: 'conflict', reason: `${IDEMPOTENCY_KEY_HEADER} was already used with a different request (method, path or body) in the last 24 h` };
        }
        if (row.status === 'completed' && row.response_status !== null && row.response_sealed !== null) {
          const opened = JSON.parse(box.open(row.response_sealed, `${id}:response`)) as Omit<StoredResponse, 'status'>;
          return { kind: 'replay', response: { status: row.response_status, ...opened } };
        }
        if (row.updated_at > now - IN_PROGRESS_TIMEOUT_MS) {
          return { kind: 'conflict', reason: `a request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry later` };
        }
        // Abandoned by a process that died mid-request: take it over (compare-and-set on the old claim).
        const taken = await engine.update(KEYS, { updated_at: now }, { where: { id, status: 'in_progress', updated_at: row.updated_at } });
        if (taken === 1) return { kind: 'proceed', id, createdAt: row.created_at };
      }
      return { kind: 'conflict', reason: `a request with this ${IDEMPOTENCY_KEY_HEADER} is being processed concurrently; retry later` };
    },

    async complete(id, createdAt, response) {
      const sealed = box.seal(JSON.stringify({ headers: response.headers, body: response.body }), `${id}:response`);
      await engine.update(
        KEYS,
        { status: 'completed', response_status: response.status, response_sealed: sealed, updated_at: clock() },
        { where: { id, created_at: createdAt, status: 'in_progress' } },
      );
    },

    async release(id, createdAt) {
      await engine.delete(KEYS, { where: { id, created_at: createdAt, status: 'in_progress' } });
    },

    async sweep() {
      return await engine.delete(KEYS, { where: { expires_at: { $lte: clock() } }, multi: true });
    },
  };
  return store;
}

/** sha256 over what makes two requests the same one. */
export function requestHash(method: string, path: string, body: string): string {
  return createHash('sha256').update(`${method} ${path}\n`).update(body).digest('hex');
}

/** Applies `Idempotency-Key` to POST requests (after auth, which sets the caller). */
export function idempotency(store: IdempotencyStore): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_KEY_HEADER);
    if (c.req.method !== 'POST' || key === undefined) return await next();
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !KEY_PATTERN.test(key)) {
      throw new HttpError(400, 'validation', `${IDEMPOTENCY_KEY_HEADER}: must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces`, IDEMPOTENCY_KEY_HEADER);
    }
    const body = await c.req.text();
    const begun = await store.begin(callerScope(c.get('caller')), key, requestHash(c.req.method, c.req.path, body));
    if (begun.kind === 'conflict') throw new HttpError(409, 'conflict', begun.reason, IDEMPOTENCY_KEY_HEADER);
    if (begun.kind === 'replay') {
      const { status, headers, body: stored } = begun.response;
      return new Response(status === 204 ? null : stored, { status, headers: { ...headers, 'Idempotent-Replayed': 'true' } });
    }
    try {
      await next();
    } catch (err) {
      // Errors are normally rendered below us; this is for one that escaped.
      await store.release(begun.id, begun.createdAt);
      throw err;
    }
    const res = c.res;
    if (res.status >= 200 && res.status < 300) {
      const headers: Record<string, string> = {};
      for (const name of KEPT_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      await store.complete(begun.id, begun.createdAt, { status: res.status, headers, body: await res.clone().text() });
    } else {
      await store.release(begun.id, begun.createdAt);
    }
  };
}
