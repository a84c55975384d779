/** The Dockerfile and .dockerignore Herald's two services are built from: bases, build, user, no baked secrets. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { argvOf, envOf, isExactlyPinned, loadCompose, service, splitImage } from './compose-model.js';
import { execForm, parseDockerfile } from './dockerfile-parser.js';
import { HERALD_SERVICES, repoRoot, REQUIRED_SECRETS, SERVICES } from './herald-stack.js';
import { emittedJs } from './repo-files.js';

describe('Dockerfile and .dockerignore', () => {
  const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  const aliases = new Set(stages.map((s) => s.alias).filter((a): a is string => a !== undefined));
  const final = stages[stages.length - 1];
  const builder = stages.find((s) => s.alias === 'builder');
  const compose = loadCompose();
  const apiEnv = envOf(service(compose, SERVICES.heraldApi));

  it('is multi-stage, on exact-tagged bases, building and running on the same image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(builder, 'a stage named builder').toBeDefined();
    for (const stage of stages) {
      if (aliases.has(stage.image)) continue; // FROM an earlier stage
      expect(isExactlyPinned(stage.image), `FROM ${stage.image}`).toBe(true);
    }
    // Native modules (better-sqlite3, Temporal's core bridge) compiled in the builder must match the runtime.
    expect(final?.image).toBe(builder?.image);
    expect(splitImage(final?.image ?? '')).toMatchObject({ repository: 'node', tag: '20.20-bookworm-slim' });
  });

  it('installs the toolchain, installs exactly, builds and prunes dev dependencies in the builder', () => {
    const runs = (builder?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args.split(/\s*&&\s*/));
    const commands = runs.flat().map((c) => c.replace(/\s+/g, ' ').trim());
    const apt = commands.find((c) => c.startsWith('apt-get install')) ?? '';
    for (const pkg of ['python3', 'make', 'g++']) expect(apt.split(' '), pkg).toContain(pkg);
    const ci = commands.findIndex((c) => /^npm ci\b/.test(c));
    const build = commands.findIndex((c) => /^npm run build\b/.test(c));
    const prune = commands.findIndex((c) => /^npm prune --omit=dev\b/.test(c));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
    expect(prune).toBeGreaterThan(build);
  });

  it('copies only sources that exist and are not ignored into the build', () => {
    const ignored = new Set(readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()));
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))) {
        const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        for (const source of words.slice(0, -1)) {
          if (source === '.') continue;
          expect(existsSync(join(repoRoot, source)), `COPY ${source}`).toBe(true);
          expect(ignored.has(source), `COPY ${source} is .dockerignored`).toBe(false);
        }
      }
    }
  });

  it("runs the herald CLI's start role as a non-root user in production mode, from builder output", () => {
    const instructions = final?.instructions ?? [];
    const cmd = instructions.filter((i) => i.keyword === 'CMD').pop();
    expect(cmd, 'CMD').toBeDefined();
    const argv = execForm(cmd?.args ?? '[]');
    // `herald start` = what `npm start` (dist/src/main.js) runs: everything in one process.
    expect(argv).toEqual(['node', 'dist/src/cli/herald.js', 'start']);
    // …where the build config puts src/cli/herald.ts, the package's `herald` bin.
    expect(argv[1]).toBe(emittedJs('src/cli/herald.ts'));
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string>; scripts?: Record<string, string> };
    expect(pkg.bin?.herald?.replace(/^\.\//, '')).toBe(argv[1]);
    // `npm start` runs the built src/main.ts, which is the same `start` role.
    expect(pkg.scripts?.start?.split(/\s+/)).toEqual(['node', emittedJs('src/main.ts')]);
    expect(readFileSync(join(repoRoot, 'src', 'main.ts'), 'utf8')).toMatch(/runHerald\(\{\s*role:\s*'start'\s*\}\)/);
    // The compose services run the same entry point, only with another role.
    for (const name of HERALD_SERVICES) expect(argvOf(service(compose, name)).slice(0, 2), name).toEqual(argv.slice(0, 2));

    const user = instructions.filter((i) => i.keyword === 'USER').pop()?.args.split(':')[0];
    expect(user, 'USER').toBeDefined();
    expect(['root', '0']).not.toContain(user);

    const env = instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args.replace(/\s+/, '=')).join(' ');
    expect(env.split(/\s+/)).toContain('NODE_ENV=production');

    const exposed = instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toContain(Number(apiEnv.HERALD_API_PORT));

    const copied = instructions
      .filter((i) => i.keyword === 'COPY' && /--from=builder\b/.test(i.args))
      .map((i) => i.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0]?.replace(/^\/app\//, ''));
    for (const path of ['dist', 'node_modules', 'package.json']) expect(copied, path).toContain(path);
  });

  it('bakes no secret into the image: the key and the API tokens come only from the environment at run time', () => {
    for (const stage of stages) {
      for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
        for (const secret of Object.keys(REQUIRED_SECRETS)) expect(instruction.args, `${instruction.keyword} ${instruction.args}`).not.toContain(secret);
      }
    }
  });

  it('keeps local state and build output out of the build context', () => {
    const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.tools', '.herald', '.git', 'bench/results', '.env']) expect(lines, entry).toContain(entry);
    for (const needed of ['package.json', 'package-lock.json', 'src', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(lines, `${needed} must reach the builder`).not.toContain(needed);
    }
  });
});
