// Queries both the workflows and the client use: defined once so their names and types agree. Pure, so the
// workflow bundle and the client (outside the sandbox) can both load it.
import { defineQuery } from '@temporalio/workflow';
import type { RecoverProgress } from '../workflows/messages.js';

export const recoverProgressQuery = defineQuery<RecoverProgress>('progress');
