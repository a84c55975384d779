/**
 * Errors Herald's client throws at its boundary. Each has `name` set and a `code` the HTTP API maps to a
 * status; validation errors name the field and the reason.
 */
export type HeraldErrorCode = 'validation' | 'not_found' | 'not_eligible' | 'conflict';

export class HeraldError extends Error {
  constructor(readonly code: HeraldErrorCode, message: string) {
    super(message);
  }
}

export class ValidationError extends HeraldError {
  override name = 'ValidationError';
  constructor(readonly field: string, readonly reason: string) {
    super('validation', `${field}: ${reason}`);
  }
}

export class WebhookNotFoundError extends HeraldError {
  override name = 'WebhookNotFoundError';
  constructor(readonly webhookId: string, detail = 'no such webhook') {
    super('not_found', `webhook ${webhookId}: ${detail}`);
  }
}

export class DeliveryNotFoundError extends HeraldError {
  override name = 'DeliveryNotFoundError';
  constructor(readonly deliveryId: string) {
    super('not_found', `delivery ${deliveryId}: no such delivery`);
  }
}

export class DeliveryNotEligibleError extends HeraldError {
  override name = 'DeliveryNotEligibleError';
  constructor(readonly deliveryId: string, readonly status: string, action: string) {
    super('not_eligible', `delivery ${deliveryId} is ${status}: cannot ${action}`);
  }
}
