import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addPolicyOptions, policyBody } from './policy-options.js';

const POLICY_FIELDS = ['tenantId', 'settings', 'effective', 'updatedAt'];

export function registerTenantCommands(program: Command, cli: CliContext): void {
  const tenants = program.command('tenants').description("tenants' endpoint policies");
  const policy = tenants.command('policy').description('the retry schedule, timeout, rate limit, concurrency, breaker and disable-after a tenant\'s webhooks inherit');

  policy
    .command('show <tenant>')
    .description("show a tenant's policy and the values its webhooks inherit")
    .action(cli.run(async (tenant: string) => cli.out.record(await cli.api().get(`/v1/tenants/${encodeURIComponent(tenant)}/policy`), POLICY_FIELDS)));

  const set = policy
    .command('set <tenant>')
    .description("replace a tenant's policy: options left out fall back to Herald's defaults (no options clears it)");
  addPolicyOptions(set, { inherit: false }).action(
    cli.run(async (tenant: string, opts: Record<string, string | undefined>) => {
      cli.out.record(await cli.api().put(`/v1/tenants/${encodeURIComponent(tenant)}/policy`, policyBody(opts, { inherit: false })), POLICY_FIELDS);
    }),
  );
}
