import { deleteExpiredDeliveries } from '../store/deliveries.js';
import { deleteUnreferencedEvents } from '../store/events.js';
import type { DeleteExpiredInput, DeleteUnreferencedEventsInput } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

export function createRetentionActivities({ store }: Pick<ActivityDeps, 'store'>) {
  return {
    deleteExpiredDeliveries: (input: DeleteExpiredInput): Promise<number> => deleteExpiredDeliveries(store, input),
    deleteUnreferencedEvents: (input: DeleteUnreferencedEventsInput) => deleteUnreferencedEvents(store, input),
  };
}
