/**
 * Herald as an ObjectStack kernel plugin: the same wiring as `attachHerald`, run by the kernel's lifecycle.
 * It depends on ObjectQL's plugin (`com.objectstack.engine.objectql`), attaches at `start` (once the app's
 * objects are registered and the engine is up), registers the plugin's outbox as the `webhook.outbox` service
 * (the name `@objectstack/plugin-webhooks` used), and detaches at `destroy` (kernel shutdown).
 *
 * Typed structurally (the kernel's `Plugin`/`PluginContext` from `@objectstack/core`), so Herald loads no
 * ObjectStack package at run time.
 */
import { attachHerald, type AttachHeraldOptions, type HeraldInObjectStack, type ObjectQLApp } from './attach-herald.js';

export const HERALD_PLUGIN_NAME = 'com.herald.objectstack';
export const OBJECTQL_PLUGIN_NAME = 'com.objectstack.engine.objectql';

export interface KernelPluginContext {
  getService<T>(name: string): T;
  registerService(name: string, service: unknown): void;
}

export interface HeraldKernelPlugin {
  name: string;
  version: string;
  dependencies: string[];
  providesServices: string[];
  init(ctx: KernelPluginContext): void;
  start(ctx: KernelPluginContext): Promise<void>;
  destroy(): Promise<void>;
  /** The attached Herald once the kernel has started (undefined before, and after destroy). */
  readonly attached: HeraldInObjectStack | undefined;
}

export function heraldKernelPlugin(options: AttachHeraldOptions): HeraldKernelPlugin {
  let attached: HeraldInObjectStack | undefined;
  // The service exists from init (other plugins may resolve it then); it forwards once Herald is attached.
  const outbox = {
    enqueue: async (...args: Parameters<HeraldInObjectStack['outbox']['enqueue']>) => await ready().outbox.enqueue(...args),
    list: async (...args: Parameters<HeraldInObjectStack['outbox']['list']>) => await ready().outbox.list(...args),
    redeliver: async (id: string) => await ready().outbox.redeliver(id),
    claim: () => ready().outbox.claim(),
    ack: () => ready().outbox.ack(),
  };
  function ready(): HeraldInObjectStack {
    if (!attached) throw new Error(`${HERALD_PLUGIN_NAME}: the webhook outbox is used before the kernel started (or after it stopped)`);
    return attached;
  }
  return {
    name: HERALD_PLUGIN_NAME,
    version: '0.1.0',
    dependencies: [OBJECTQL_PLUGIN_NAME],
    providesServices: ['webhook.outbox'],
    init(ctx) {
      ctx.registerService('webhook.outbox', outbox);
    },
    async start(ctx) {
      attached = await attachHerald(ctx.getService<ObjectQLApp>('objectql'), options);
    },
    async destroy() {
      const current = attached;
      attached = undefined;
      await current?.close();
    },
    get attached() {
      return attached;
    },
  };
}
