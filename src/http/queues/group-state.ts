import { AtomMQError } from '../../errors/index.js';
import type { GroupRef, GroupSettings, GroupStatus } from '../../store/groups.js';
import type { Store } from '../../store/store.js';

/**
 * The group's status, declaring it with `settings` first when it does not exist yet: for the faces
 * whose consumers never name a group (RestMQ's takes, QST's pulls), whose group is made on first use.
 */
export async function statusOrDeclare(store: Store, ref: GroupRef, settings: Partial<GroupSettings>): Promise<GroupStatus> {
  try {
    return await store.groups.status(ref);
  } catch (error) {
    if (!(error instanceof AtomMQError) || error.code !== 'GROUP_NOT_FOUND') throw error;
    return store.groups.declare(ref, settings);
  }
}
