import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import yoctoSpinner from 'yocto-spinner';
import { UsageError, type CliContext } from '../context.js';
import { parseJsonArgument } from '../parse.js';

interface PublishResponse {
  eventId: string;
  deliveries: { id: string; webhookId: string; status: string }[];
  deliveriesTruncated?: boolean;
}

export function registerEventCommands(program: Command, cli: CliContext): void {
  const events = program.command('events').description('publish events');

  events
    .command('publish')
    .description('publish one event (--type, --data), or many from a JSON-lines file (--file)')
    .option('--type <type>', 'event type, e.g. order.created')
    .option('--data <json>', 'the payload: inline JSON or @file.json', '{}')
    .option('--id <id>', 'event id (publishing the same id again is the same event)')
    .option('--tenant <id>', 'tenant (admin tokens only)')
    .option('--file <path>', 'JSON lines, each {"type", "payload", "id"?, "tenantId"?}')
    .action(
      cli.run(async (opts: { type?: string; data: string; id?: string; tenant?: string; file?: string }) => {
        if (opts.file) return await publishFile(cli, opts.file);
        if (!opts.type) throw new UsageError('--type is required (or --file)');
        const body: Record<string, unknown> = { type: opts.type, payload: parseJsonArgument(opts.data, '--data') };
        if (opts.id) body.id = opts.id;
        if (opts.tenant) body.tenantId = opts.tenant;
        const published = await cli.api().post<PublishResponse>('/v1/events', body);
        if (cli.out.json) return cli.out.print(published);
        cli.out.info(`event ${published.eventId}: ${published.deliveries.length} deliver${published.deliveries.length === 1 ? 'y' : 'ies'}`);
        cli.out.table(published.deliveries, ['id', 'webhookId', 'status']);
      }),
    );
}

/** Bulk publish with a progress line on stderr; stops at the first bad line, naming it. */
async function publishFile(cli: CliContext, file: string): Promise<void> {
  const api = cli.api();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const spinner = cli.out.json || !process.stderr.isTTY ? undefined : yoctoSpinner({ text: 'publishing…', stream: process.stderr }).start();
  let published = 0;
  let lineNo = 0;
  const ids: string[] = [];
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (!line.trim()) continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(`${file}:${lineNo} is not valid JSON (${(err as Error).message})`);
      }
      const res = await api.post<PublishResponse>('/v1/events', event);
      ids.push(res.eventId);
      published += 1;
      if (spinner) spinner.text = `published ${published} events (line ${lineNo})`;
      else if (!cli.out.json && published % 100 === 0) cli.err(`published ${published} events…`);
    }
  } finally {
    if (spinner) spinner.stop();
  }
  if (cli.out.json) cli.out.print({ published, eventIds: ids });
  else cli.out.info(`published ${published} events from ${file}`);
}
