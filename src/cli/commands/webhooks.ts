import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseKeyValues } from '../parse.js';
import { printPage } from '../print-page.js';
import { addPolicyOptions, policyBody } from './policy-options.js';

const LIST_COLUMNS = ['id', 'url', 'eventTypes', 'active', 'tenantId', 'createdAt'];
const SHOW_FIELDS = ['id', 'url', 'eventTypes', 'active', 'retrySchedule', 'timeoutMs', 'rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays', 'inherited'];

export function registerWebhookCommands(program: Command, cli: CliContext): void {
  const webhooks = program.command('webhooks').description('register and manage webhooks');

  const add = webhooks
    .command('add')
    .alias('create')
    .description('register a webhook; prints its signing secret once')
    .requiredOption('--url <url>', 'where deliveries are POSTed')
    .option('--events <types>', 'comma-separated event types, prefix.* wildcards or *', '*')
    .option('--description <text>')
    .option('--header <name=value...>', 'custom header (repeatable)')
    .option('--secret <secret>', 'use this secret instead of a generated one')
    .option('--scheme <scheme>', 'standard | objectstack', 'standard')
    .option('--method <method>', 'POST | PUT | PATCH', 'POST')
    .option('--tenant <id>', 'tenant (admin tokens only)');
  addPolicyOptions(add, { inherit: false })
    .action(
      cli.run(async (opts: Record<string, string | string[] | undefined>) => {
        const body: Record<string, unknown> = {
          url: opts.url,
          eventTypes: String(opts.events).split(',').map((s) => s.trim()).filter(Boolean),
          signatureScheme: opts.scheme,
          method: String(opts.method).toUpperCase(),
        };
        if (opts.description) body.description = opts.description;
        if (opts.header) body.headers = parseKeyValues(opts.header as string[], '--header');
        if (opts.secret) body.secret = opts.secret;
        Object.assign(body, policyBody(opts, { inherit: false }));
        if (opts.tenant) body.tenantId = opts.tenant;
        const created = await cli.api().post<Record<string, unknown>>('/v1/webhooks', body);
        cli.out.record(created, ['id', 'url', 'eventTypes', 'active', 'tenantId', 'signatureScheme', 'secret']);
        cli.out.info('\nKeep the secret: it is shown only now (and on rotate).');
      }),
    );

  webhooks
    .command('list')
    .description('list webhooks, newest first')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(
      cli.run(async (opts: { limit: string; cursor?: string }) => {
        const query = new URLSearchParams({ limit: opts.limit, ...(opts.cursor ? { cursor: opts.cursor } : {}) });
        await printPage(cli, `/v1/webhooks?${query}`, LIST_COLUMNS);
      }),
    );

  webhooks
    .command('show <id>')
    .description('show one webhook, with its effective endpoint policy and which fields it inherits')
    .action(cli.run(async (id: string) => cli.out.record(await cli.api().get(`/v1/webhooks/${encodeURIComponent(id)}`))));

  const update = webhooks
    .command('update <id>')
    .description('change a webhook: only the options given change; a policy option set to "inherit" stops setting it')
    .option('--url <url>')
    .option('--events <types>', 'comma-separated event types, prefix.* wildcards or *')
    .option('--description <text>');
  addPolicyOptions(update, { inherit: true }).action(
    cli.run(async (id: string, opts: Record<string, string | undefined>) => {
      const body: Record<string, unknown> = policyBody(opts, { inherit: true });
      if (opts.url) body.url = opts.url;
      if (opts.events) body.eventTypes = opts.events.split(',').map((s) => s.trim()).filter(Boolean);
      if (opts.description !== undefined) body.description = opts.description;
      cli.out.record(await cli.api().patch(`/v1/webhooks/${encodeURIComponent(id)}`, body), SHOW_FIELDS);
    }),
  );

  webhooks
    .command('rm <id>')
    .description('delete a webhook (its deliveries stay queryable)')
    .action(
      cli.run(async (id: string) => {
        await cli.api().delete(`/v1/webhooks/${encodeURIComponent(id)}`);
        if (cli.out.json) cli.out.print({ id, deleted: true });
        else cli.out.info(`deleted ${id}`);
      }),
    );

  webhooks
    .command('rotate <id>')
    .description('rotate the signing secret; the old one keeps signing during the grace period')
    .option('--grace <seconds>', 'how long the old secret keeps signing (0–604800)', '86400')
    .action(
      cli.run(async (id: string, opts: { grace: string }) => {
        const rotated = await cli.api().post<Record<string, unknown>>(`/v1/webhooks/${encodeURIComponent(id)}/rotate-secret`, { graceSeconds: Number(opts.grace) });
        cli.out.record(rotated, ['id', 'secret']);
      }),
    );

  for (const action of ['enable', 'disable'] as const) {
    webhooks
      .command(`${action} <id>`)
      .description(action === 'enable' ? 'resume deliveries to a webhook' : 'stop deliveries (matching events are recorded as skipped)')
      .option('--reason <text>', 'why (disable only)')
      .action(
        cli.run(async (id: string, opts: { reason?: string }) => {
          const body = action === 'disable' && opts.reason ? { reason: opts.reason } : {};
          cli.out.record(await cli.api().post(`/v1/webhooks/${encodeURIComponent(id)}/${action}`, body), ['id', 'url', 'active', 'disabledReason']);
        }),
      );
  }
}
