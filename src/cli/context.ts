import { loadCliConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { ApiError, apiClientOptions, createApiClient, type ApiClient } from './api-client.js';
import { createOutput, type Output } from './output.js';

/** Bad flags or arguments: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliContext {
  out: Output;
  api(): ApiClient;
  /** Wraps a command action: prints errors as one line and sets the exit code (2 for bad input, 1 otherwise). */
  run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  err(line: string): void;
}

export function createCliContext(opts: { json: () => boolean; env?: NodeJS.ProcessEnv; stdout?: (s: string) => void; stderr?: (s: string) => void }): CliContext {
  const stderr = opts.stderr ?? ((s: string) => process.stderr.write(s));
  let out: Output | undefined;
  const ctx: CliContext = {
    get out() {
      out ??= createOutput({ json: opts.json(), write: opts.stdout });
      return out;
    },
    // Read when a command first needs the API, so `--help` works whatever the environment holds.
    api: () => createApiClient(apiClientOptions(loadCliConfig(opts.env))),
    err: (line) => stderr(line + '\n'),
    run:
      (action) =>
      async (...args) => {
        try {
          await action(...args);
        } catch (err) {
          if (err instanceof UsageError || err instanceof ConfigError) {
            ctx.err(`error: ${err.message}`);
            process.exitCode = EXIT_USAGE;
          } else if (err instanceof ApiError) {
            ctx.err(`error: ${err.message}${err.field && !err.message.includes(err.field) ? ` (field: ${err.field})` : ''}`);
            // The request itself was wrong (validation, unknown id, conflict): like a usage error, retrying won't help.
            process.exitCode = err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403 ? EXIT_USAGE : EXIT_FAILURE;
          } else {
            ctx.err(`error: ${(err as Error).message ?? String(err)}`);
            process.exitCode = EXIT_FAILURE;
          }
        }
      },
  };
  return ctx;
}
