/**
 * Finds or builds the real Temporal server (and temporal-sql-tool) that `npm run test:cluster` and the cluster
 * bench run, printing one line saying what was built or found. Exit code 1 with a plain message when Go is
 * missing or the build fails.
 *
 *   node dist/scripts/temporal-server.js
 */
import { ensureTemporalServer, reportedServerVersion, TemporalServerBuildError } from '../src/embedded/temporal-server-binary.js';

async function main(): Promise<void> {
  const binaries = await ensureTemporalServer({ log: (line) => console.log(line) });
  const reported = await reportedServerVersion(binaries.server);
  if (reported !== binaries.version) throw new Error(`${binaries.server} reports version ${reported}, expected ${binaries.version}: delete ${binaries.server} and run again`);
  console.log(`Temporal server ${reported} (temporal-server + temporal-sql-tool): ${binaries.detail}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof TemporalServerBuildError ? err.message : `temporal-server: ${(err as Error).message ?? err}`);
  process.exit(1);
});
