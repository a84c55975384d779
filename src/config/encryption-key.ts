import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Config } from './config.js';
import { EncryptionKeyError, generateEncryptionKey, parseEncryptionKey } from '../store/secret-box.js';

const KEY_FILE_NAME = 'encryption.key';

/**
 * The key that seals webhook secrets at rest. HERALD_ENCRYPTION_KEY wins; the embedded default (SQLite in the
 * data folder) generates one into the data folder on first start, readable by its owner only. A shared
 * database (Postgres) needs the key set explicitly, so every worker and API process uses the same one.
 */
export function loadEncryptionKey(config: Config, log: (line: string) => void): Buffer {
  try {
    if (config.encryptionKey) return parseEncryptionKey(config.encryptionKey);
  } catch (err) {
    if (err instanceof EncryptionKeyError) throw new ConfigError('HERALD_ENCRYPTION_KEY', err.message.replace(/^HERALD_ENCRYPTION_KEY /, ''));
    throw err;
  }
  if (!config.databaseUrl.startsWith('sqlite:') && !config.databaseUrl.startsWith('memory:')) {
    throw new ConfigError('HERALD_ENCRYPTION_KEY', 'must be set when the database is shared (Postgres): every Herald process needs the same key');
  }
  const file = path.join(config.dataDir, KEY_FILE_NAME);
  if (!existsSync(file)) {
    writeFileSync(file, generateEncryptionKey() + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    log(`Generated an encryption key for webhook secrets at ${file}. Back it up: secrets stored with it cannot be read without it.`);
  }
  try {
    return parseEncryptionKey(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof EncryptionKeyError) throw new ConfigError('HERALD_ENCRYPTION_KEY', `is not set and ${err.message}`);
    throw err;
  }
}
