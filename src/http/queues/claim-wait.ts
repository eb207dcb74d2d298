/**
 * What wakes a claim held on an empty group, without polling the database: a commit to its feed
 * or delivery to its consumers resumed (told by the hub), a change of the group made by another request (a nack, a requeue, a move: told
 * by the store's onChange) and the group's next due time (a lease ending, a nack delay or a delayed
 * message coming due: one timer, set from what the claim and those changes report).
 */
import type { Hub } from '../../hub/hub.js';
import type { GroupChange, GroupRef, NextDue } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import { watchFeed } from '../streams/long-poll.js';

type DueListener = (nextDue: NextDue) => void;

/** Held claims by store and group; each store's onChange is subscribed to once, on first use. */
const waiting = new WeakMap<Store, Map<string, Set<DueListener>>>();

function keyOf(ref: GroupRef): string {
  return `${ref.feed}/${ref.group}`;
}

function listenersOf(store: Store): Map<string, Set<DueListener>> {
  let groups = waiting.get(store);
  if (!groups) {
    const byGroup = new Map<string, Set<DueListener>>();
    store.groups.onChange((change: GroupChange) => {
      for (const listener of byGroup.get(keyOf(change)) ?? []) listener(change.nextDue);
    });
    waiting.set(store, (groups = byGroup));
  }
  return groups;
}

/** The longest delay setTimeout takes; a later due time is reached by waking early and claiming again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ClaimWait {
  /** Resolves when the group may have something to hand out. */
  readonly news: Promise<void>;
  /** Tells the wait when the group is next due, as a claim answered it. */
  readonly due: DueListener;
  readonly stop: () => void;
}

/**
 * Registers for news of a group *before* a claim, so that nothing committed between the claim and
 * the wait is missed. Due times only ever bring the timer forward: reports may arrive out of order,
 * and an early wake costs one claim, whereas a late one would leave a message waiting.
 */
export function waitForGroup(hub: Hub, store: Store, ref: GroupRef): ClaimWait {
  const commits = watchFeed(hub, ref.feed, 0, { consumer: true });
  let wake!: () => void;
  const woken = new Promise<void>((resolve) => { wake = resolve; });
  let timer: NodeJS.Timeout | undefined;
  let at = Infinity;
  const due: DueListener = (nextDue) => {
    if (nextDue === undefined || nextDue >= at) return;
    at = nextDue;
    clearTimeout(timer);
    timer = setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(0, nextDue - Date.now())));
  };
  const groups = listenersOf(store);
  const key = keyOf(ref);
  const listeners = groups.get(key) ?? new Set<DueListener>();
  groups.set(key, listeners.add(due));
  return {
    news: Promise.race([commits.news, woken]),
    due,
    stop: () => {
      commits.stop();
      clearTimeout(timer);
      listeners.delete(due);
      if (listeners.size === 0) groups.delete(key);
    },
  };
}
