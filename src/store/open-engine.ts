/**
 * Picks and opens the engine a database URL names, migrated and ready:
 * - `memory:` — in-process, lost on exit;
 * - `sqlite:<path>` (relative to the working directory, or absolute) or `sqlite::memory:`;
 * - `postgres://…` or `postgresql://…` — anything pg accepts as a connection string.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SetupError } from '../errors.js';
import type { DataEngine } from './data-engine.js';
import { MemoryEngine } from './memory-engine.js';
import { PostgresEngine } from './postgres-engine.js';
import type { ObjectDefinition } from './schema.js';
import { SqliteEngine } from './sqlite-engine.js';

export interface OpenEngineOptions {
  /** The setting the URL came from, named in errors; default HERALD_DATABASE_URL. */
  setting?: string;
  /** The objects to serve; default HERALD_OBJECTS. */
  objects?: readonly ObjectDefinition[];
}

/** The database URL cannot be used: names the setting and the reason, never the password. */
export class DatabaseUrlError extends SetupError {
  override name = 'DatabaseUrlError';
  constructor(
    readonly setting: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${reason}`, options);
  }
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

function createEngine(url: string, setting: string, objects: readonly ObjectDefinition[] | undefined): DataEngine {
  if (url === 'memory:') return new MemoryEngine({ objects });
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new DatabaseUrlError(setting, 'sqlite: needs a file path (sqlite:<path>) or sqlite::memory:');
    if (path.startsWith('//')) {
      throw new DatabaseUrlError(setting, `write sqlite:<path> (e.g. sqlite:/var/lib/herald.db), not a sqlite:// URL: "${url}"`);
    }
    if (path === ':memory:') return new SqliteEngine(':memory:', { objects });
    const file = resolve(path);
    try {
      mkdirSync(dirname(file), { recursive: true });
      return new SqliteEngine(file, { objects });
    } catch (error) {
      throw new DatabaseUrlError(setting, `cannot open SQLite file ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url); // pg's own parser accepts nearly anything and fails later with a vaguer message
    } catch {
      throw new DatabaseUrlError(setting, `is not a valid URL: "${redact(url)}"`);
    }
    return new PostgresEngine(url, { objects });
  }
  throw new DatabaseUrlError(
    setting,
    `must be memory:, sqlite:<path>, sqlite::memory: or postgres://user:password@host:port/database, got "${redact(url)}"`,
  );
}

/** Opens the engine for `url` and runs `migrate()`; on failure nothing is left open. */
export async function openEngine(url: string, options: OpenEngineOptions = {}): Promise<DataEngine> {
  const setting = options.setting ?? 'HERALD_DATABASE_URL';
  if (typeof url !== 'string' || url.trim() === '') throw new DatabaseUrlError(setting, 'is empty');
  const engine = createEngine(url.trim(), setting, options.objects);
  try {
    await engine.migrate();
  } catch (error) {
    await engine.close().catch(() => undefined);
    throw new DatabaseUrlError(setting, `cannot prepare the database at "${redact(url)}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  return engine;
}
