/** How many seconds a rate looks back over. */
const WINDOW_SECONDS = 60;

/**
 * Counts per key over the last minute, in one-second slots: the web page shows publishes per feed
 * over the last minute, which Prometheus's counters (totals since start) cannot give without a
 * scraper. Memory is WINDOW_SECONDS slots per key, whatever the rate.
 */
export class RecentCounts {
  private readonly slots = new Map<string, Array<{ second: number; count: number }>>();

  add(key: string, count: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    let slots = this.slots.get(key);
    if (!slots) this.slots.set(key, slots = []);
    const slot = slots[second % WINDOW_SECONDS];
    if (slot?.second === second) slot.count += count;
    else slots[second % WINDOW_SECONDS] = { second, count };
  }

  /** The count over the last WINDOW_SECONDS seconds, the current one included. */
  lastMinute(key: string, now = Date.now()): number {
    const oldest = Math.floor(now / 1000) - WINDOW_SECONDS;
    let total = 0;
    for (const slot of this.slots.get(key) ?? []) if (slot && slot.second > oldest) total += slot.count;
    return total;
  }
}
