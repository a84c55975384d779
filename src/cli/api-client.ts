import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CliConfig } from '../config/config.js';
import { API_TOKEN_FILE_NAME } from '../runtime/api-tokens-file.js';

/**
 * The CLI's way in: Herald's REST API at HERALD_URL with HERALD_TOKEN (falling back to the token the embedded
 * default wrote into the data folder). Errors keep the API's code, message and field.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token: string | undefined;
}

/** Where to send requests and with which token: HERALD_TOKEN, else the admin token file in the data folder. */
export function apiClientOptions(config: CliConfig): ApiClientOptions {
  let token = config.token;
  if (!token) {
    try {
      token = readFileSync(path.join(config.dataDir, API_TOKEN_FILE_NAME), 'utf8').trim() || undefined;
    } catch {
      // No local token file: requests go without one and the API says 401.
    }
  }
  return { baseUrl: config.apiUrl, token };
}

export function createApiClient(options: ApiClientOptions) {
  async function request<T>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${options.baseUrl}${route}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError(0, 'unreachable', `cannot reach Herald at ${options.baseUrl} (${cause}); is it running? (HERALD_URL)`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, 'bad_response', `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
      throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? `HTTP ${res.status}`, error?.field);
    }
    return json as T;
  }
  return {
    get: <T>(route: string) => request<T>('GET', route),
    post: <T>(route: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', route, body ?? {}, headers),
    patch: <T>(route: string, body: unknown) => request<T>('PATCH', route, body),
    put: <T>(route: string, body: unknown) => request<T>('PUT', route, body),
    delete: (route: string) => request<void>('DELETE', route),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
