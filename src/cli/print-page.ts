import type { CliContext } from './context.js';

/** One page of a list route, as JSON or a table, with the `--cursor` that fetches the next page. */
export async function printPage(cli: CliContext, route: string, columns: string[]): Promise<void> {
  const page = await cli.api().get<{ items: Record<string, unknown>[]; nextCursor: string | null }>(route);
  if (cli.out.json) return cli.out.print(page);
  cli.out.table(page.items, columns);
  if (page.nextCursor) cli.out.info(`more: --cursor ${page.nextCursor}`);
}
