// The workflow bundle's entry: every workflow type the worker registers, named one by one.
export { deliverWebhook } from './deliver-webhook.js';
export { fanOutEvent } from './fan-out-event.js';
export { recoverWebhook } from './recover-webhook.js';
export { sweepRetention } from './sweep-retention.js';
