import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/embedded/project-root.js';

/** A Herald started as a user starts it (the built CLI), with its output captured. */
export interface HeraldProcess {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<{ code: number | null; ms: number }>;
}

export const READY_TIMEOUT_MS = 90_000;

export function startHeraldProcess(args: string[], env: NodeJS.ProcessEnv): Promise<HeraldProcess> {
  const proc = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'cli', 'herald.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const herald: HeraldProcess = {
    proc,
    output: () => out,
    exited,
    async stop() {
      const t0 = Date.now();
      if (proc.exitCode === null) proc.kill('SIGINT');
      const code = await exited;
      return { code, ms: Date.now() - t0 };
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Herald not ready within ${READY_TIMEOUT_MS} ms:\n${out}`)), READY_TIMEOUT_MS);
    const check = () => {
      if (out.includes('Herald is ready')) {
        clearTimeout(timer);
        resolve(herald);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Herald exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/** Runs the `herald` CLI once; resolves with its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'cli', 'herald.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}
