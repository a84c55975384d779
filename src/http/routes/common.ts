import type { OpenAPIHono, z } from '@hono/zod-openapi';
import type { HeraldClient } from '../../client/herald-client.js';
import type { AuthVariables } from '../auth.js';
import { ErrorBody } from '../schemas.js';

/** The Hono environment of every route: what the auth middleware sets. */
export interface AppEnv {
  Variables: AuthVariables;
}

export type App = OpenAPIHono<AppEnv>;

/** What route modules need besides the request: the admin client and the limits. */
export interface RouteDeps {
  herald: HeraldClient;
  maxPayloadBytes: number;
}

/** The security requirement of every `/v1` route (the scheme is registered in openapi.ts). */
export const BEARER = [{ bearerAuth: [] }];

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** A JSON request body the route cannot do without. */
export function requiredJsonBody<T extends z.ZodType>(schema: T) {
  return jsonBody(schema, true);
}

/** A JSON request body the route may go without (an empty POST means "all defaults"). */
export function optionalJsonBody<T extends z.ZodType>(schema: T) {
  return jsonBody(schema, false);
}

/** Prefer requiredJsonBody / optionalJsonBody, which say at the call site what the boolean meant. */
export function jsonBody<T extends z.ZodType>(schema: T, required: boolean) {
  return { required, content: { 'application/json': { schema } } };
}

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request; `error.field` names the field.',
  401: 'Missing or invalid bearer token.',
  403: 'The token may not act for that tenant.',
  404: 'No such object (or it belongs to another tenant).',
  409: 'Conflicts with the current state, or an `Idempotency-Key` reused with a different request.',
  413: 'The request body (1 MiB) or the event payload (`maxPayloadBytes`) is too large.',
  415: 'The body is not JSON.',
  422: 'Well-formed, but cannot be processed in the current state.',
  503: 'Temporal did not answer; retry later (`Retry-After`).',
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

type Always = 400 | 401 | 503;

/** Error responses of a route, all with the one error body. 400, 401 and 503 apply to every `/v1` route. */
export function errors<S extends ErrorStatus>(...statuses: S[]): Record<S | Always, ReturnType<typeof json<typeof ErrorBody>>> {
  const out = {} as Record<S | Always, ReturnType<typeof json<typeof ErrorBody>>>;
  for (const status of [400, 401, ...statuses, 503] as (S | Always)[]) out[status] = json(ErrorBody, ERROR_DESCRIPTIONS[status]);
  return out;
}

/** The `Idempotency-Key` header, documented on every POST. */
export const IDEMPOTENCY_HEADER_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description: 'Makes the POST safe to retry for 24 h: the same key and body return the stored response (`Idempotent-Replayed: true`); the same key with another body is a 409.',
  schema: { type: 'string' as const, maxLength: 255 },
};
