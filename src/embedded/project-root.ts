import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Herald's package.json. Code runs both from `src/` (tests, tsx) and from `dist/src/`
 * (npm start), so walk up instead of assuming a depth.
 */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'herald') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find Herald\'s package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function heraldVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
