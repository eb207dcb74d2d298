import type { GroupSettings } from './groups.js';
import type { Store } from './store.js';

/**
 * Declares a feed file's consumer groups: creates those that do not exist yet and brings the lease
 * and maxDeliveries of the others to what the file says (a group's start only applies when it is created).
 */
export async function declareGroups(store: Store, feed: string, groups: Readonly<Record<string, Partial<GroupSettings>>>): Promise<void> {
  await Promise.all(Object.entries(groups).map(([group, settings]) => store.groups.declare({ feed, group }, settings)));
}
