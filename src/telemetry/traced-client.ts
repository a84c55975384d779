import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { activeTracing } from './active-tracing.js';

const INTERCEPTOR_CLASS = 'OpenTelemetryWorkflowClientInterceptor';

/**
 * `client` itself when tracing is off or it already traces; otherwise the same client (connection, namespace,
 * identity, data converter, interceptors, plugins) with the OpenTelemetry interceptor added, so a HeraldClient
 * built over a caller's plain Client still puts each start in the publish's trace.
 */
export function withTracing(client: Client): Client {
  const tracing = activeTracing();
  if (!tracing) return client;
  const { options } = client;
  const current = options.interceptors.workflow;
  // The older object form of workflow interceptors cannot be extended by appending: leave such a client alone.
  if (!Array.isArray(current)) return client;
  const existing = current as WorkflowClientInterceptor[];
  if (existing.some((interceptor) => interceptor.constructor.name === INTERCEPTOR_CLASS)) return client;
  const added = tracing.clientInterceptors.workflow;
  // The Client constructor adds the connection's own plugins again: pass only the client's.
  const connectionPlugins: unknown[] = (client.connection as { plugins?: unknown[] }).plugins ?? [];
  return new Client({
    connection: client.connection,
    namespace: options.namespace,
    identity: options.identity,
    dataConverter: options.loadedDataConverter,
    workflow: options.workflow,
    plugins: options.plugins.filter((plugin) => !connectionPlugins.includes(plugin)),
    interceptors: {
      ...options.interceptors,
      workflow: [...existing, ...(Array.isArray(added) ? added : [])],
    },
  });
}
