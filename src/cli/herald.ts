#!/usr/bin/env node
/**
 * `herald`: run Herald (`start`, `worker`, `api`) or talk to a running one through its REST API
 * (HERALD_URL, HERALD_TOKEN). Exit codes: 0 done, 1 failed, 2 bad usage or input.
 */
import { Command, CommanderError } from 'commander';
import { heraldVersion } from '../embedded/project-root.js';
import { runHerald } from '../runtime/run-herald.js';
import { startDemo } from '../runtime/demo.js';
import { registerDeliveryCommands } from './commands/deliveries.js';
import { registerEventCommands } from './commands/events.js';
import { registerTenantCommands } from './commands/tenants.js';
import { registerWebhookCommands } from './commands/webhooks.js';
import { createCliContext, EXIT_OK, EXIT_USAGE } from './context.js';

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('Durable, signed webhook delivery on Temporal')
    .version(heraldVersion())
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError()
    .exitOverride();
  const cli = createCliContext({ json: () => Boolean(program.opts().json) });

  program
    .command('start')
    .description('run everything: embedded Temporal (unless TEMPORAL_ADDRESS is set), worker and API')
    .option('--demo', 'also run a local echo receiver, register it and publish sample events')
    .action(async (opts: { demo?: boolean }) => {
      if (!opts.demo) return runHerald({ role: 'start' });
      const demo = await startDemo();
      await runHerald({ role: 'start', extraEgressAllow: ['127.0.0.1'], afterReady: (ctx) => demo.afterReady(ctx) });
    });
  program.command('worker').description('run only the worker (needs TEMPORAL_ADDRESS and a shared HERALD_DATABASE_URL)').action(() => runHerald({ role: 'worker' }));
  program.command('api').description('run only the REST API (needs TEMPORAL_ADDRESS and a shared HERALD_DATABASE_URL)').action(() => runHerald({ role: 'api' }));

  registerWebhookCommands(program, cli);
  registerEventCommands(program, cli);
  registerDeliveryCommands(program, cli);
  registerTenantCommands(program, cli);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
      return;
    }
    throw err;
  }
}

await main();
