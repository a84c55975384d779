import type { Command } from 'commander';
import yoctoSpinner from 'yocto-spinner';
import type { CliContext } from '../context.js';
import { parseTime } from '../parse.js';
import { printPage } from '../print-page.js';

const LIST_COLUMNS = ['id', 'status', 'webhookId', 'eventType', 'attempts', 'responseCode', 'createdAt'];
const SHOW_FIELDS = ['id', 'status', 'webhookId', 'eventId', 'eventType', 'tenantId', 'url', 'attempts', 'nextRetryAt', 'lastAttemptedAt', 'responseCode', 'error', 'workflowId', 'runId', 'createdAt', 'updatedAt'];

export function registerDeliveryCommands(program: Command, cli: CliContext): void {
  const deliveries = program.command('deliveries').description('inspect, redeliver and cancel deliveries');

  deliveries
    .command('list')
    .description('list deliveries, newest first')
    .option('--status <status>', 'pending | in_flight | success | dead | cancelled | skipped')
    .option('--webhook <id>')
    .option('--event <id>')
    .option('--type <eventType>', 'exact event type, e.g. order.created')
    .option('--since <time>', 'ISO time or age (2h, 7d)')
    .option('--until <time>', 'ISO time or age')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>')
    .action(
      cli.run(async (opts: Record<string, string | undefined>) => {
        const query = new URLSearchParams({ limit: opts.limit ?? '50' });
        if (opts.status) query.set('status', opts.status);
        if (opts.webhook) query.set('webhookId', opts.webhook);
        if (opts.event) query.set('eventId', opts.event);
        if (opts.type) query.set('eventType', opts.type);
        if (opts.since) query.set('since', parseTime(opts.since, '--since'));
        if (opts.until) query.set('until', parseTime(opts.until, '--until'));
        if (opts.cursor) query.set('cursor', opts.cursor);
        await printPage(cli, `/v1/deliveries?${query}`, LIST_COLUMNS);
      }),
    );

  deliveries
    .command('show <id>')
    .description('one delivery with its attempt log')
    .action(
      cli.run(async (id: string) => {
        const delivery = await cli.api().get<Record<string, unknown> & { attemptLog?: Record<string, unknown>[] }>(`/v1/deliveries/${encodeURIComponent(id)}`);
        if (cli.out.json) return cli.out.print(delivery);
        cli.out.record(delivery, SHOW_FIELDS);
        cli.out.info('\nattempts:');
        cli.out.table(delivery.attemptLog ?? [], ['attempt', 'at', 'responseCode', 'durationMs', 'error']);
      }),
    );

  for (const action of ['redeliver', 'cancel'] as const) {
    deliveries
      .command(`${action} <id>`)
      .description(action === 'redeliver' ? 'send a finished delivery again (same delivery id and webhook-id)' : 'stop a pending delivery')
      .action(
        cli.run(async (id: string) => {
          const res = await cli.api().post<Record<string, unknown>>(`/v1/deliveries/${encodeURIComponent(id)}/${action}`);
          if (cli.out.json) return cli.out.print(res ?? { id });
          cli.out.info(action === 'redeliver' ? `redelivering ${id}` : `cancelling ${id}`);
        }),
      );
  }

  program
    .command('recover <webhookId>')
    .description("redeliver a webhook's dead and skipped deliveries created in a window (at most 30 days)")
    .requiredOption('--since <time>', 'ISO time or age (2h, 7d)')
    .option('--until <time>', 'ISO time or age (default: now)')
    .option('--no-wait', 'return once the recovery has started')
    .action(
      cli.run(async (webhookId: string, opts: { since: string; until?: string; wait: boolean }) => {
        const body: Record<string, unknown> = { since: parseTime(opts.since, '--since') };
        if (opts.until) body.until = parseTime(opts.until, '--until');
        const api = cli.api();
        const job = await api.post<{ workflowId: string }>(`/v1/webhooks/${encodeURIComponent(webhookId)}/recover`, body);
        if (!opts.wait) return cli.out.json ? cli.out.print(job) : cli.out.info(`recovery started: ${job.workflowId}`);
        const spinner = cli.out.json || !process.stderr.isTTY ? undefined : yoctoSpinner({ text: 'recovering…', stream: process.stderr }).start();
        try {
          for (;;) {
            const progress = await api.get<{ redelivered: number; scanned: number; done: boolean }>(`/v1/recoveries/${encodeURIComponent(job.workflowId)}`);
            if (spinner) spinner.text = `recovering: ${progress.redelivered} redelivered of ${progress.scanned} scanned`;
            if (progress.done) {
              spinner?.stop();
              if (cli.out.json) return cli.out.print({ ...job, ...progress });
              return cli.out.info(`recovered ${webhookId}: ${progress.redelivered} redelivered (${progress.scanned} scanned)`);
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        } finally {
          spinner?.stop();
        }
      }),
    );
}
