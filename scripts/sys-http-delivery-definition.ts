/**
 * Herald's ObjectDefinition of ObjectStack's `sys_http_delivery` (the outbox table of
 * `@objectstack/service-messaging`), derived from the package's own object schema (`HttpDelivery`), so
 * ObjectStack's `SqlHttpOutbox` can run on Herald's engines (the benchmark baseline and its compatibility test).
 */
import { HttpDelivery, SYS_HTTP_DELIVERY } from '@objectstack/service-messaging';
import type { ColumnDefinition, ObjectDefinition } from '../src/store/schema.js';

interface SchemaField {
  type: string;
  required?: boolean;
  defaultValue?: unknown;
}

export function sysHttpDeliveryDefinition(): ObjectDefinition {
  const schema = HttpDelivery as unknown as { fields: Record<string, SchemaField>; indexes?: { fields: string[]; unique?: boolean }[] };
  const columns: ColumnDefinition[] = Object.entries(schema.fields).map(([name, f]) => {
    // text/textarea → TEXT; number and datetime → epoch-ms integers (Herald turns the outbox's Dates into ms).
    const type: ColumnDefinition['type'] = f.type === 'number' || f.type === 'datetime' ? 'bigint-ms' : 'text';
    const def = f.defaultValue;
    return {
      name,
      type,
      ...(f.required ? {} : { nullable: true }),
      ...(typeof def === 'string' || typeof def === 'number' ? { default: def } : {}),
    };
  });
  const indexes = schema.indexes ?? [];
  return {
    name: SYS_HTTP_DELIVERY,
    primaryKey: 'id',
    columns,
    uniqueKeys: indexes.filter((i) => i.unique).map((i) => i.fields),
    indexes: indexes.filter((i) => !i.unique).map((i) => i.fields),
    // The outbox stamps the kernel's organization_id, which the object itself does not declare.
    organizationScoped: true,
  };
}
