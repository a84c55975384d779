/**
 * Herald's errors, in two families.
 *
 * Setup errors: the machine or configuration Herald was started with cannot work (a bad variable, a missing
 * Temporal binary, an unusable database URL or key). They derive from SetupError, so the start-up path explains
 * any of them in one line without a stack, wherever they are thrown.
 *
 * Domain errors: what Herald's client throws at its boundary. Each has `name` set and a `code` the HTTP API maps to a
 * status (validation 400, forbidden 403, not_found 404, conflict 409); validation errors name the field and
 * the reason.
 */
export type HeraldErrorCode = 'validation' | 'payload_too_large' | 'forbidden' | 'not_found' | 'conflict';

export class HeraldError extends Error {
  constructor(
    readonly code: HeraldErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class ValidationError extends HeraldError {
  override name = 'ValidationError';
  constructor(
    override readonly field: string,
    readonly reason: string,
    code: Extract<HeraldErrorCode, 'validation' | 'payload_too_large'> = 'validation',
  ) {
    super(code, `${field}: ${reason}`, field);
  }
}

/** A payload over the configured limit: a validation error the HTTP API answers with 413. */
export class PayloadTooLargeError extends ValidationError {
  override name = 'PayloadTooLargeError';
  constructor(field: string, reason: string) {
    super(field, reason, 'payload_too_large');
  }
}

export class ForbiddenError extends HeraldError {
  override name = 'ForbiddenError';
  constructor(message: string, field?: string) {
    super('forbidden', message, field);
  }
}

export class NotFoundError extends HeraldError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('not_found', message);
  }
}

export class WebhookNotFoundError extends NotFoundError {
  override name = 'WebhookNotFoundError';
  constructor(
    readonly webhookId: string,
    detail = 'no such webhook',
  ) {
    super(`webhook ${webhookId}: ${detail}`);
  }
}

export class DeliveryNotFoundError extends NotFoundError {
  override name = 'DeliveryNotFoundError';
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId}: no such delivery`);
  }
}

export class EventNotFoundError extends NotFoundError {
  override name = 'EventNotFoundError';
  constructor(readonly eventId: string) {
    super(`event ${eventId}: no such event`);
  }
}

export class ConflictError extends HeraldError {
  override name = 'ConflictError';
  constructor(message: string) {
    super('conflict', message);
  }
}

/** The delivery's state does not allow the action (redeliver a pending one, cancel a finished one). */
export class DeliveryNotEligibleError extends ConflictError {
  override name = 'DeliveryNotEligibleError';
  constructor(
    readonly deliveryId: string,
    readonly status: string,
    action: string,
  ) {
    super(`delivery ${deliveryId} is ${status}: cannot ${action}`);
  }
}

/** The setup is wrong, not the code: shown to the operator as its message alone. */
export class SetupError extends Error {
  override name = 'SetupError';
}

/** A configuration variable is missing or invalid; the message names the variable and the reason. */
export class ConfigError extends SetupError {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`invalid configuration: ${variable} ${reason}`);
  }
}
