// The workflow bundle's entry: every workflow type the worker registers, named one by one.
export { deliverWebhook } from './deliver-webhook.js';
