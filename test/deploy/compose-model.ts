/**
 * docker-compose.yml as the tests read it: the parsed file and accessors that normalise compose's alternative
 * spellings (list or map environments, short or long port and volume syntax). Values are interpolated with only
 * the required secrets set, so everything else must resolve to the file's own defaults.
 */
import { readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { interpolate } from './compose-interpolation.js';
import { composePath, repoRoot, REQUIRED_SECRETS } from './herald-stack.js';

export type EnvValue = string | number | boolean | null;
export interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; [option: string]: unknown };
  environment?: Record<string, EnvValue> | string[];
  ports?: Array<string | number | { target: number; published?: string | number; protocol?: string }>;
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean } | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  expose?: Array<string | number>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  entrypoint?: string | string[];
  command?: string | string[];
  networks?: string[] | Record<string, unknown>;
  restart?: string;
  stop_grace_period?: string;
  init?: boolean;
}
export interface ComposeFile {
  services: Record<string, Service>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(): ComposeFile {
  const doc: unknown = parse(readFileSync(composePath, 'utf8'));
  if (!doc || typeof doc !== 'object' || !('services' in doc)) throw new Error('docker-compose.yml has no services');
  return doc as ComposeFile;
}

export function service(compose: ComposeFile, name: string): Service {
  const svc = compose.services[name];
  if (!svc) throw new Error(`service ${name} is not defined`);
  return svc;
}

/** The environment as written, before interpolation; `- NAME` (pass the host's value through) maps to null. */
export function rawEnvOf(svc: Service): Record<string, EnvValue> {
  const raw = svc.environment ?? {};
  if (!Array.isArray(raw)) return { ...raw };
  return Object.fromEntries(
    raw.map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, null] : [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
}

export function envOf(svc: Service, name = '?'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawEnvOf(svc))) {
    if (value === null) continue; // `- NAME` passes the host's value through; not part of the file's wiring
    out[key] = interpolate(String(value), `${name}.environment.${key}`, REQUIRED_SECRETS);
  }
  return out;
}

export interface PortMapping {
  published: number;
  target: number;
}
export function portsOf(svc: Service): PortMapping[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      if (port.published === undefined) throw new Error(`port ${port.target} is not published`);
      return { published: Number(port.published), target: Number(port.target) };
    }
    // [ip:]published:target[/protocol]; a bare number publishes on a random host port
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length < 2) throw new Error(`port "${port}" has no fixed host port`);
    return { published: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]) };
  });
}

export interface Dependency {
  name: string;
  condition: string;
}
export function dependsOn(svc: Service): Dependency[] {
  const raw = svc.depends_on ?? [];
  if (Array.isArray(raw)) return raw.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(raw).map(([name, spec]) => ({ name, condition: spec?.condition ?? 'service_started' }));
}

export interface Mount {
  kind: 'bind' | 'volume';
  source: string; // absolute host path for binds, volume name otherwise
  target: string;
}
export function mountsOf(svc: Service): Mount[] {
  return (svc.volumes ?? []).map((volume): Mount => {
    if (typeof volume === 'object') {
      const source = volume.source ?? '';
      return volume.type === 'bind'
        ? { kind: 'bind', source: resolve(repoRoot, interpolate(source, 'volume', REQUIRED_SECRETS)), target: volume.target }
        : { kind: 'volume', source, target: volume.target };
    }
    const parts = interpolate(volume, 'volume', REQUIRED_SECRETS).split(':');
    if (parts.length === 1) return { kind: 'volume', source: '', target: parts[0] ?? '' }; // anonymous
    const [source = '', target = ''] = parts;
    return /^[./~]/.test(source)
      ? { kind: 'bind', source: resolve(repoRoot, source), target }
      : { kind: 'volume', source, target };
  });
}

/** The host file a container path comes from, through the service's bind mounts (longest target wins). */
export function hostPathFor(svc: Service, containerPath: string): string | undefined {
  const candidates = mountsOf(svc)
    .filter((m) => m.kind === 'bind')
    .filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const mount = candidates[0];
  if (!mount) return undefined;
  return join(mount.source, posix.relative(mount.target, containerPath));
}

export function toArgv(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}
export function argvOf(svc: Service): string[] {
  return [...toArgv(svc.entrypoint), ...toArgv(svc.command)];
}

export function hasHealthcheck(svc: Service): boolean {
  const test = svc.healthcheck?.test;
  if (!test || svc.healthcheck?.disable) return false;
  return !(Array.isArray(test) && test[0] === 'NONE');
}

export function healthcheckArgv(svc: Service): string[] {
  const test = svc.healthcheck?.test;
  if (!test) return [];
  if (typeof test === 'string') return ['CMD-SHELL', test];
  return test.map(String);
}

/** name[:tag][@digest] → parts; a registry host:port is not mistaken for a tag. */
export function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [ref = '', digest] = image.split('@');
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1), ...(digest ? { digest } : {}) };
  return { repository: ref, ...(digest ? { digest } : {}) };
}

/** Exact: a digest, or a tag that starts with a dotted version (`16.10`, `1.29.1-tctl-…`, `20.20-bookworm-slim`). */
export function isExactlyPinned(image: string): boolean {
  if (/\$/.test(image)) return false; // a variable tag is whatever the environment says
  const { tag, digest } = splitImage(image);
  if (digest && /^sha256:[0-9a-f]{64}$/.test(digest)) return true;
  if (!tag || tag === 'latest') return false;
  return /^v?\d+\.\d+(\.\d+)?([-.+][A-Za-z0-9.+-]*)?$/.test(tag);
}
