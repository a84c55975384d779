import type { Hono } from 'hono';
import type { HeraldClient } from '../../client/herald-client.js';
import type { Session } from './session.js';

/** What the session middleware sets for the page handlers. */
export interface UiVariables {
  session: Session;
  /** The client scoped to the session's caller: `forTenant(t)` for a tenant token, the admin client otherwise. */
  herald: HeraldClient;
}

export interface UiEnv {
  Variables: UiVariables;
}

export type UiApp = Hono<UiEnv>;
