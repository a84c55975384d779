import { ConfigError } from '../errors.js';

/**
 * Tracing as the standard OTEL_* variables ask for it. Herald reads the variables that decide whether tracing
 * runs and where spans go; the OpenTelemetry SDK reads the rest itself (sampler, batch sizes, resource
 * attributes, propagators, OTLP timeout and compression), as every OpenTelemetry SDK does.
 */
export interface TracingConfig {
  /** OTEL_SERVICE_NAME (default `herald`). */
  serviceName: string;
  exporter:
    | { kind: 'otlp'; url: string; headers: Readonly<Record<string, string>> }
    /** Spans printed to stdout, for a quick look without a collector. */
    | { kind: 'console' };
}

/** Every OTEL_* variable Herald itself reads (a config file may set these too). */
export const TRACING_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
] as const;

export type TracingVariables = Partial<Record<(typeof TRACING_VARIABLES)[number], string>>;

/** The specification's default when OTLP is chosen without an endpoint (a collector on this machine). */
const DEFAULT_OTLP_TRACES_URL = 'http://localhost:4318/v1/traces';
/** The only OTLP transport Herald ships (`@opentelemetry/exporter-trace-otlp-proto`). */
const SUPPORTED_PROTOCOL = 'http/protobuf';

/**
 * Tracing is off (undefined) unless asked for: OTEL_TRACES_EXPORTER set to something other than `none`, or an
 * OTLP endpoint set. OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off whatever else is set.
 */
export function parseTracingConfig(env: TracingVariables): TracingConfig | undefined {
  const value = (name: keyof TracingVariables): string | undefined => {
    const raw = env[name]?.trim();
    return raw ? raw : undefined;
  };
  const disabled = value('OTEL_SDK_DISABLED');
  if (disabled !== undefined && !/^(true|false)$/i.test(disabled)) {
    throw new ConfigError('OTEL_SDK_DISABLED', `must be true or false, got "${disabled}"`);
  }
  const exporterName = value('OTEL_TRACES_EXPORTER')?.toLowerCase();
  if (exporterName !== undefined && !['otlp', 'console', 'none'].includes(exporterName)) {
    throw new ConfigError('OTEL_TRACES_EXPORTER', `must be otlp, console or none, got "${exporterName}" (one exporter; Herald ships these)`);
  }
  const genericEndpoint = value('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesEndpoint = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  // Validate what is set even when tracing ends up off: a typo should not wait for the day someone turns it on.
  if (genericEndpoint !== undefined) httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', genericEndpoint);
  if (tracesEndpoint !== undefined) httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const protocol = value(name);
    if (protocol !== undefined && protocol !== SUPPORTED_PROTOCOL) {
      throw new ConfigError(name, `must be ${SUPPORTED_PROTOCOL} (the OTLP transport Herald ships), got "${protocol}"`);
    }
  }
  const headers = {
    ...parseHeaders('OTEL_EXPORTER_OTLP_HEADERS', value('OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseHeaders('OTEL_EXPORTER_OTLP_TRACES_HEADERS', value('OTEL_EXPORTER_OTLP_TRACES_HEADERS')),
  };

  if (disabled?.toLowerCase() === 'true' || exporterName === 'none') return undefined;
  if (exporterName === undefined && genericEndpoint === undefined && tracesEndpoint === undefined) return undefined;
  const serviceName = value('OTEL_SERVICE_NAME') ?? 'herald';
  if (exporterName === 'console') return { serviceName, exporter: { kind: 'console' } };
  // The signal-specific endpoint is used as given; the generic one is a base that gets the signal's path.
  const url = tracesEndpoint ?? (genericEndpoint ? `${genericEndpoint.replace(/\/+$/, '')}/v1/traces` : DEFAULT_OTLP_TRACES_URL);
  return { serviceName, exporter: { kind: 'otlp', url, headers } };
}

function httpUrl(variable: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, `must be an http:// or https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, `must be an http:// or https:// URL, got a ${url.protocol} URL`);
  }
  return url;
}

/** W3C Baggage-style `key=value,key2=value2`, values percent-encoded (the OTLP exporter specification). */
function parseHeaders(variable: string, raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === undefined) return headers;
  for (const [index, pair] of raw.split(',').entries()) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    // Header values are often credentials: the message names the position, never the value.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
      throw new ConfigError(variable, `entry ${index + 1} must be name=value with a valid header name`);
    }
    try {
      headers[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(variable, `entry ${index + 1} (${key}) has a malformed percent-encoding`);
    }
  }
  return headers;
}
