// The workflow bundle's entry: every workflow type the worker registers, named one by one.
export { deliverWebhookV2 } from './deliver-webhook.js';
export { deliverWebhook } from './legacy/deliver-webhook-v1.js';
export { fanOutEvent } from './fan-out-event.js';
export { recoverWebhook } from './recover-webhook.js';
export { refanEvents } from './refan-events.js';
export { sweepRetention } from './sweep-retention.js';
