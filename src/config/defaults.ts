/**
 * Defaults that code outside the configuration parser also needs (a client or worker built in code, without
 * `loadConfig`). Kept here so the environment's default and the programmatic default cannot drift apart.
 */

/** HERALD_MAX_PAYLOAD_BYTES: the largest event payload, as JSON bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** HERALD_SHUTDOWN_GRACE_MS: how long a stopping worker lets running activities finish before cancelling them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
