/**
 * Finds or installs the Temporal dev server (CLI) and the time-skipping test server, printing one line per
 * binary saying which route was used. `npm start` and `npm test` run it first, so a fresh clone needs nothing
 * installed by hand. Exit code 1 with a plain message (no stack trace) when no route works.
 *
 *   node dist/scripts/temporal-binaries.js [cli|test-server|all]
 */
import { describeResolution, resolveTemporalBinary, TemporalBinaryNotFoundError, type TemporalBinaryKind } from '../src/embedded/temporal-binaries.js';

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'all';
  const kinds: TemporalBinaryKind[] = which === 'all' ? ['cli', 'test-server'] : [which as TemporalBinaryKind];
  for (const kind of kinds) {
    if (kind !== 'cli' && kind !== 'test-server') throw new Error(`unknown binary "${which}": expected cli, test-server or all`);
    // The SDK download is not a route this script can prepare; refuse it here so a missing binary is loud.
    const resolved = await resolveTemporalBinary(kind, { allowSdkDownload: false, log: (line) => console.log(line) });
    console.log(describeResolution(resolved));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof TemporalBinaryNotFoundError ? err.message : `temporal-binaries: ${(err as Error).message ?? err}`);
  process.exit(1);
});
