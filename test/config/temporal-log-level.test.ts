import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { FailureType } from '../../src/delivery/failure-types.js';
import { temporalLogLevel } from '../../src/runtime/temporal-log-level.js';

describe('temporalLogLevel', () => {
  const failure = (type: string) => ApplicationFailure.create({ type, message: 'x', nonRetryable: false });

  it('logs a delivery waiting for its endpoint at DEBUG: waiting is not a failure', () => {
    expect(temporalLogLevel('WARN', 'Activity failed', { error: failure(FailureType.EndpointWaiting) })).toBe('DEBUG');
    // deliverWebhookV4 hands a wait behind an open breaker to its workflow with this (non-retryable) failure.
    expect(temporalLogLevel('WARN', 'Activity failed', { error: failure(FailureType.BreakerOpen) })).toBe('DEBUG');
  });

  it('keeps real failures, a database away and every other line at their level', () => {
    expect(temporalLogLevel('WARN', 'Activity failed', { error: failure(FailureType.AttemptFailed) })).toBe('WARN');
    expect(temporalLogLevel('WARN', 'Activity failed', { error: failure(FailureType.StorageUnavailable) })).toBe('WARN');
    expect(temporalLogLevel('WARN', 'Workflow failed', { error: failure(FailureType.EndpointWaiting) })).toBe('WARN');
    expect(temporalLogLevel('ERROR', 'Activity failed', undefined)).toBe('ERROR');
    expect(temporalLogLevel('INFO', 'Worker state changed', {})).toBe('INFO');
  });
});
