import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export const API_TOKEN_FILE_NAME = 'api-token';

/**
 * The embedded default's admin token: generated into the data folder on first start (owner-only), so a
 * newcomer's API is never open, and the CLI on the same machine finds it there.
 */
export function ensureLocalAdminToken(dataDir: string): { file: string; token: string; created: boolean } {
  const file = path.join(dataDir, API_TOKEN_FILE_NAME);
  let created = false;
  if (!existsSync(file)) {
    writeFileSync(file, `hrld_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    created = true;
  }
  return { file, token: readFileSync(file, 'utf8').trim(), created };
}
