/** Facts about files in the repository that the deploy files refer to. */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './herald-stack.js';

/** Where `tsc -p tsconfig.build.json` emits a source file, relative to the repository (`src/x.ts` → `dist/src/x.js`). */
export function emittedJs(source: string): string {
  const configPath = join(repoRoot, existsSync(join(repoRoot, 'tsconfig.build.json')) ? 'tsconfig.build.json' : 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configPath));
  const { outDir, rootDir } = parsed.options;
  if (!outDir) throw new Error(`${relative(repoRoot, configPath)} has no outDir`);
  const absolute = join(repoRoot, source);
  if (!parsed.fileNames.map((f) => resolve(f)).includes(absolute)) throw new Error(`${source} is not part of the build`);
  const emitted = join(outDir, relative(rootDir ?? repoRoot, absolute)).replace(/\.ts$/, '.js');
  return relative(repoRoot, emitted).split('\\').join('/');
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
