// Queries both the workflows and the client use: defined once so their names and types agree.
import { defineQuery } from '@temporalio/workflow';
import type { RecoverProgress } from './messages.js';

export const recoverProgressQuery = defineQuery<RecoverProgress>('progress');
