/**
 * Herald inside an ObjectStack application: the package entry point `herald/objectstack` (package.json
 * `exports`). `attachHerald(ql, options)` wires everything in one call (`attach-herald.ts`);
 * `heraldKernelPlugin(options)` does the same inside an ObjectStack kernel (`kernel-plugin.ts`).
 */
export { attachHerald, type AttachHeraldOptions, type HeraldInObjectStack, type ObjectQLApp } from './attach-herald.js';
export { ObjectQLEngine, type ObjectQLEngineOptions } from './objectql-engine.js';
export { DEFAULT_OBJECT_NAMES } from './objectql-schema.js';
export { HeraldWebhookOutbox, RedeliverError, DispatcherReplacedError, type EnqueueInput, type WebhookDelivery } from './webhook-outbox.js';
export { encodeEventId, translateDataEvent } from './data-change-events.js';
export { createSecretBox } from '../store/secret-box.js';
export { heraldKernelPlugin, HERALD_PLUGIN_NAME, type HeraldKernelPlugin } from './kernel-plugin.js';
