import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseEgressAllowList, type EgressAllowList } from '../egress/allow-list.js';
import { ConfigError } from '../errors.js';
import { parseTracingConfig, TRACING_VARIABLES, type TracingConfig, type TracingVariables } from '../telemetry/tracing-config.js';
import { parseApiTokens, type ApiToken } from './api-tokens.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_SHUTDOWN_GRACE_MS } from './defaults.js';

/**
 * Herald's configuration, read once from the environment at each entry point (npm start, the worker, the
 * CLI) and passed down. Nothing below an entry point reads process.env. An invalid value stops the start with
 * a message naming the variable and the reason.
 */
export interface Config {
  dataDir: string;
  /** Set when Herald should use an existing Temporal cluster instead of starting the embedded dev server. */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  temporalPort: number;
  uiPort: number;
  /**
   * HERALD_TEMPORAL_UI_URL: the Temporal Web UI the operator page (`/ui`) links each delivery to; undefined =
   * the embedded dev server's UI where Herald runs one, else no link.
   */
  temporalUiUrl: string | undefined;
  taskQueue: string;
  apiHost: string;
  apiPort: number;
  databaseUrl: string;
  /** HERALD_EGRESS_ALLOW: targets the SSRF guard lets through although they are not public. */
  egressAllow: EgressAllowList;
  maxPayloadBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** HERALD_SHUTDOWN_GRACE_MS: how long a stopping worker lets running activities finish. */
  shutdownGraceMs: number;
  /** HERALD_ENCRYPTION_KEY (base64, 32 bytes); undefined = the embedded default's key file in the data folder. */
  encryptionKey: string | undefined;
  httpsOnly: boolean;
  /** HERALD_API_TOKENS, parsed (hashes only); undefined = unset, so the API uses the local admin token file. */
  apiTokens: readonly ApiToken[] | undefined;
  retention: {
    /** 0 keeps them forever. */
    deliveredMaxAgeMs: number;
    deadMaxAgeMs: number;
    intervalMs: number;
  };
  /** Publish starts up to this many deliveries itself; larger fan-outs run the fan-out workflow. */
  directFanOutLimit: number;
  /** The re-fan schedule: how often it runs, and how old an unfinished event must be before it is repaired. */
  refan: { intervalMs: number; olderThanMs: number };
  /** OpenTelemetry tracing from the standard OTEL_* variables; undefined = off (the default). */
  tracing: TracingConfig | undefined;
}

/** An optional number variable: unset or empty is `fallback`; anything else must pass `accepts`. */
const numberVar = (fallback: number, accepts: (n: number) => boolean, expected: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!accepts(n)) {
        ctx.addIssue({ code: 'custom', message: `must be ${expected}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const port = (fallback: number) => numberVar(fallback, (n) => Number.isInteger(n) && n >= 1 && n <= 65535, 'a TCP port (1-65535)');
const positiveInt = (fallback: number) => numberVar(fallback, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
const nonNegativeNumber = (fallback: number) => numberVar(fallback, (n) => Number.isFinite(n) && n >= 0, 'a number ≥ 0');

const flag = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '' || v === '0' || v.toLowerCase() === 'false') return false;
    if (v === '1' || v.toLowerCase() === 'true') return true;
    ctx.addIssue({ code: 'custom', message: `must be true/false or 1/0, got "${v}"` });
    return z.NEVER;
  });

const nonEmpty = (fallback: string) => z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim()));

/** An absolute http(s) URL without credentials, query or fragment, kept without its trailing slash. */
const baseUrl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    const url = URL.canParse(v.trim()) ? new URL(v.trim()) : undefined;
    const problem = !url || (url.protocol !== 'http:' && url.protocol !== 'https:')
      ? 'must be an http(s) URL such as http://127.0.0.1:8233'
      : url.username || url.password
        ? 'must not hold a user name or password (it is rendered in links)'
        : url.search || url.hash
          ? 'must not have a query or fragment'
          : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `${problem}, got "${url ? url.origin + url.pathname : v.trim()}"` });
      return z.NEVER;
    }
    return url!.href.replace(/\/+$/, '');
  });

const EnvSchema = z.object({
  HERALD_DATA_DIR: nonEmpty('.herald'),
  TEMPORAL_ADDRESS: z.string().optional().transform((v) => (v?.trim() ? v.trim() : undefined)),
  TEMPORAL_NAMESPACE: nonEmpty('default'),
  HERALD_TEMPORAL_PORT: port(7233),
  HERALD_UI_PORT: port(8233),
  HERALD_TEMPORAL_UI_URL: baseUrl,
  HERALD_TASK_QUEUE: nonEmpty('herald'),
  HERALD_API_HOST: nonEmpty('127.0.0.1'),
  HERALD_API_PORT: port(3000),
  HERALD_DATABASE_URL: z.string().optional(),
  HERALD_EGRESS_ALLOW: z.string().optional().transform((v) => v ?? ''),
  HERALD_MAX_PAYLOAD_BYTES: positiveInt(DEFAULT_MAX_PAYLOAD_BYTES),
  HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().transform((v) => v ?? 'info'),
  HERALD_SHUTDOWN_GRACE_MS: positiveInt(DEFAULT_SHUTDOWN_GRACE_MS),
  HERALD_ENCRYPTION_KEY: z.string().optional().transform((v) => (v?.trim() ? v.trim() : undefined)),
  HERALD_HTTPS_ONLY: flag,
  HERALD_API_TOKENS: z.string().optional().transform((v) => (v?.trim() ? v.trim() : undefined)),
  HERALD_RETENTION_DELIVERED_DAYS: nonNegativeNumber(7),
  HERALD_RETENTION_DEAD_DAYS: nonNegativeNumber(30),
  HERALD_RETENTION_INTERVAL_MINUTES: positiveInt(60),
  HERALD_DIRECT_FAN_OUT_LIMIT: nonNegativeNumber(100),
  HERALD_REFAN_INTERVAL_SECONDS: positiveInt(60),
  HERALD_REFAN_AFTER_SECONDS: positiveInt(60),
  // Checked together by parseTracingConfig (whether tracing is on depends on several of them).
  ...(Object.fromEntries(TRACING_VARIABLES.map((name) => [name, z.string().optional()])) as Record<keyof TracingVariables, z.ZodOptional<z.ZodString>>),
});

const DAY_MS = 24 * 60 * 60 * 1000;

/** Every variable Herald reads; a config file may set only these. */
export const CONFIG_VARIABLES = [...Object.keys(EnvSchema.shape)];

/**
 * The optional config file (HERALD_CONFIG_FILE): `KEY=value` lines (like a .env file; `#` comments) or a JSON
 * object, holding the same variables. The environment wins over the file.
 */
export function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('HERALD_CONFIG_FILE', `cannot be read: ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const values: Record<string, string> = {};
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ConfigError('HERALD_CONFIG_FILE', `${file} is not valid JSON (${(err as Error).message})`);
    }
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new ConfigError(key, `in ${file} must be a string, number or boolean`);
      }
      values[key] = String(value);
    }
  } else {
    text.split(/\r?\n/).forEach((line, index) => {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#')) return;
      const match = /^([A-Z0-9_]+)\s*=\s*(.*)$/.exec(trimmed);
      if (!match) throw new ConfigError('HERALD_CONFIG_FILE', `${file}:${index + 1} is not KEY=value`);
      values[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
    });
  }
  for (const key of Object.keys(values)) {
    if (!CONFIG_VARIABLES.includes(key)) throw new ConfigError(key, `in ${file} is not a Herald setting (known: ${CONFIG_VARIABLES.join(', ')})`);
  }
  return values;
}

/** The environment with the optional config file (HERALD_CONFIG_FILE) under it: the environment wins. */
function withConfigFile(rawEnv: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  const file = rawEnv.HERALD_CONFIG_FILE?.trim();
  return file ? { ...readConfigFile(path.resolve(cwd, file)), ...definedOnly(rawEnv) } : rawEnv;
}

/** Parses with a schema; the first problem becomes a ConfigError naming its variable. */
function parseEnv<T extends z.ZodTypeAny>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? '?'), issue.message);
  }
  return parsed.data as z.output<T>;
}

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const e = parseEnv(EnvSchema, withConfigFile(rawEnv, cwd));
  const dataDir = path.resolve(cwd, e.HERALD_DATA_DIR);
  const databaseUrl = e.HERALD_DATABASE_URL?.trim() || `sqlite:${path.join(dataDir, 'herald.db')}`;
  if (!/^(sqlite:|memory:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('HERALD_DATABASE_URL', `must start with sqlite:, memory: or postgres://, got "${redactUrl(databaseUrl)}"`);
  }
  if (e.HERALD_TEMPORAL_PORT === e.HERALD_UI_PORT) {
    throw new ConfigError('HERALD_UI_PORT', `must differ from HERALD_TEMPORAL_PORT (${e.HERALD_TEMPORAL_PORT})`);
  }
  return {
    dataDir,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalPort: e.HERALD_TEMPORAL_PORT,
    uiPort: e.HERALD_UI_PORT,
    temporalUiUrl: e.HERALD_TEMPORAL_UI_URL,
    taskQueue: e.HERALD_TASK_QUEUE,
    apiHost: e.HERALD_API_HOST,
    apiPort: e.HERALD_API_PORT,
    databaseUrl,
    egressAllow: parseEgressAllowList(e.HERALD_EGRESS_ALLOW),
    maxPayloadBytes: e.HERALD_MAX_PAYLOAD_BYTES,
    logLevel: e.HERALD_LOG_LEVEL,
    shutdownGraceMs: e.HERALD_SHUTDOWN_GRACE_MS,
    encryptionKey: e.HERALD_ENCRYPTION_KEY,
    httpsOnly: e.HERALD_HTTPS_ONLY,
    apiTokens: e.HERALD_API_TOKENS === undefined ? undefined : parseApiTokens(e.HERALD_API_TOKENS),
    retention: {
      deliveredMaxAgeMs: Math.round(e.HERALD_RETENTION_DELIVERED_DAYS * DAY_MS),
      deadMaxAgeMs: Math.round(e.HERALD_RETENTION_DEAD_DAYS * DAY_MS),
      intervalMs: e.HERALD_RETENTION_INTERVAL_MINUTES * 60_000,
    },
    directFanOutLimit: Math.floor(e.HERALD_DIRECT_FAN_OUT_LIMIT),
    refan: { intervalMs: e.HERALD_REFAN_INTERVAL_SECONDS * 1000, olderThanMs: e.HERALD_REFAN_AFTER_SECONDS * 1000 },
    tracing: parseTracingConfig(e),
  };
}

/** What the CLI needs to reach a running Herald's REST API. */
export interface CliConfig {
  /** HERALD_URL, or the local API on HERALD_API_PORT. */
  apiUrl: string;
  /** HERALD_TOKEN; undefined = use the admin token file the embedded default wrote into `dataDir`. */
  token: string | undefined;
  dataDir: string;
}

// The CLI reads the API port and data folder through the same parsers (same defaults, same errors) as the
// server, but nothing else: a CLI call must not fail over a database URL it never uses.
const CliEnvSchema = EnvSchema.pick({ HERALD_DATA_DIR: true, HERALD_API_PORT: true }).extend({
  HERALD_URL: z.string().optional().transform((v) => (v?.trim() ? v.trim() : undefined)),
  HERALD_TOKEN: z.string().optional().transform((v) => (v?.trim() ? v.trim() : undefined)),
});

export function loadCliConfig(rawEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CliConfig {
  const e = parseEnv(CliEnvSchema, withConfigFile(rawEnv, cwd));
  return {
    // The CLI runs beside the API it talks to by default, so loopback whatever HERALD_API_HOST binds.
    apiUrl: (e.HERALD_URL ?? `http://127.0.0.1:${e.HERALD_API_PORT}`).replace(/\/+$/, ''),
    token: e.HERALD_TOKEN,
    dataDir: path.resolve(cwd, e.HERALD_DATA_DIR),
  };
}

/** A database URL with its password replaced, safe to log. */
function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** The config as it may appear in logs. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl),
    egressAllow: config.egressAllow.entries,
    encryptionKey: config.encryptionKey ? '***' : undefined,
    apiTokens: config.apiTokens ? `${config.apiTokens.length} token(s)` : undefined,
    // OTLP headers usually carry the collector's API key.
    tracing:
      config.tracing?.exporter.kind === 'otlp'
        ? { ...config.tracing, exporter: { ...config.tracing.exporter, headers: Object.keys(config.tracing.exporter.headers).map((name) => `${name}: ***`) } }
        : config.tracing,
  };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
