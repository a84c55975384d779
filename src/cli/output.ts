import Table from 'cli-table3';

/** How a command prints: JSON for scripts (`--json`), a table or key/value list for people. */
export interface Output {
  json: boolean;
  print(value: unknown): void;
  table(rows: Record<string, unknown>[], columns: string[]): void;
  record(value: Record<string, unknown>, fields?: string[]): void;
  info(line: string): void;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `json`: print JSON for scripts instead of tables; `write`: where output goes (default stdout). */
export function createOutput({ json, write = (s) => process.stdout.write(s) }: { json: boolean; write?: ((s: string) => void) | undefined }): Output {
  return {
    json,
    print(value) {
      write(JSON.stringify(value, null, 2) + '\n');
    },
    table(rows, columns) {
      if (json) return this.print(rows);
      if (rows.length === 0) return write('(none)\n');
      const table = new Table({ head: columns, style: { head: [], border: [] } });
      for (const row of rows) table.push(columns.map((c) => cell(row[c])));
      write(table.toString() + '\n');
    },
    record(value, fields) {
      if (json) return this.print(value);
      const keys = fields ?? Object.keys(value);
      const width = Math.max(...keys.map((k) => k.length));
      for (const key of keys) if (key in value) write(`${key.padEnd(width)}  ${cell(value[key])}\n`);
    },
    info(line) {
      if (!json) write(line + '\n');
    },
  };
}
