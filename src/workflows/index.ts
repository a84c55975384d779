// The workflow bundle's entry: every workflow type the worker registers, named one by one.
export { deliverWebhookV4 } from './deliver-webhook.js';
export { deliverWebhookV3 } from './legacy/deliver-webhook-v3.js';
export { deliverWebhookV2 } from './legacy/deliver-webhook-v2.js';
export { deliverWebhook } from './legacy/deliver-webhook-v1.js';
export { fanOutEvent } from './fan-out-event.js';
export { recoverWebhook } from './recover-webhook.js';
export { refanEvents } from './refan-events.js';
export { sweepRetention } from './sweep-retention.js';
