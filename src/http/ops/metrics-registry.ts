import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../../hub/hub.js';
import type { GroupStatus } from '../../store/groups.js';
import type { FeedConfig } from '../../config/feed-config.js';
import type { CommitBatch, Store, StoredEntry } from '../../store/store.js';
import { TallyCounter } from './tally-counter.js';
import { RecentCounts } from './web/recent-counts.js';

/**
 * Group series a scrape publishes at most, over all feeds: group names come from clients (a claim
 * creates its group), so their number is not the operator's to bound.
 */
export const MAX_GROUP_SERIES = 500;

/** What the hub's consumer kinds are called in `atommq_streams_open{transport}`. */
const TRANSPORTS = ['sse', 'ws', 'comet'] as const;

/** Where scrapes read the state they publish; called only on a scrape, so it may be wired up after the registry. */
export interface MetricsSources {
  readonly hub: Hub;
  readonly feeds: () => readonly FeedConfig[];
  readonly storeFor: (feed: FeedConfig) => Store;
}

/**
 * AtomMQ's Prometheus metrics, one registry per server. Labels are bounded: feed names (which the
 * operator's feed files choose), group names (at most MAX_GROUP_SERIES), transports, route
 * patterns and statuses; never cursors, ids or client addresses. Counters are fed as things
 * happen; gauges of hub and group state are read on each scrape.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Changes committed per feed over the last minute, for the web page. */
  readonly recentPublishes = new RecentCounts();
  private readonly published;
  private readonly publishedBytes;
  private readonly readEntries;
  private readonly readBytes;
  private readonly removed;
  private readonly answers;
  private readonly batchSize;
  private readonly commitSeconds;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.published = new TallyCounter({ name: 'atommq_published_total', help: 'Changes committed to a feed: entries published, replaced or deleted', labelNames: ['feed'], registers });
    this.publishedBytes = new TallyCounter({ name: 'atommq_published_bytes_total', help: 'Bytes of the Atom documents committed to a feed', labelNames: ['feed'], registers });
    this.readEntries = new TallyCounter({ name: 'atommq_read_entries_total', help: 'Entries sent to readers: pages and streams', labelNames: ['feed'], registers });
    this.readBytes = new TallyCounter({ name: 'atommq_read_bytes_total', help: 'Bytes of the entries sent to readers, in the form sent (Atom or JSON)', labelNames: ['feed'], registers });
    this.removed = new Counter({ name: 'atommq_retention_removed_total', help: 'Changes removed by retention', labelNames: ['feed'], registers });
    this.answers = new TallyCounter({ name: 'atommq_http_responses_total', help: 'HTTP answers by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.batchSize = new Histogram({ name: 'atommq_commit_batch_size', help: 'Writes per commit (group commit)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers });
    this.commitSeconds = new Histogram({ name: 'atommq_commit_seconds', help: 'Time of a commit, fsync included', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    this.scrapedGauges();
    collectDefaultMetrics({ register: this.registry });
  }

  /** The changes of a commit (the store's onCommit). */
  committed(changes: readonly StoredEntry[]): void {
    for (const { feed, xml } of changes) {
      const labels = (): { feed: string } => ({ feed });
      this.published.add(feed, labels);
      this.recentPublishes.add(feed, 1);
      this.publishedBytes.add(feed, labels, Buffer.byteLength(xml));
    }
  }

  /** A commit of the store's writer (its onBatch). */
  batch(batch: CommitBatch): void {
    this.batchSize.observe(batch.writes);
    this.commitSeconds.observe(batch.seconds);
  }

  /** Entries sent to a reader: `bytes` of the form sent, counted as page sizes are (characters). */
  read(feed: string, entries: number, bytes: number): void {
    if (entries === 0) return;
    const labels = (): { feed: string } => ({ feed });
    this.readEntries.add(feed, labels, entries);
    this.readBytes.add(feed, labels, bytes);
  }

  retentionRemoved(feed: string, count: number): void {
    this.removed.inc({ feed }, count);
  }

  /** An HTTP answer; `route` is the pattern that matched (`/feeds/:name`), never the path itself. */
  answered(method: string, route: string, status: number): void {
    this.answers.add(`${method} ${route} ${status}`, () => ({ method, route, status: String(status) }));
  }

  private scrapedGauges(): void {
    const registers = [this.registry];
    const { hub } = this.sources;
    new Gauge({
      name: 'atommq_long_polls_held', help: 'Long-poll requests held open', registers,
      collect() { this.set(hub.countByKind().get('long-poll') ?? 0); },
    });
    new Gauge({
      name: 'atommq_streams_open', help: 'Live streams open, by transport', labelNames: ['transport'], registers,
      collect() {
        const counts = hub.countByKind();
        for (const transport of TRANSPORTS) this.set({ transport }, counts.get(transport) ?? 0);
      },
    });
    const statuses = (): Promise<GroupStatus[]> => this.groupStatuses();
    // Each gauge reads the groups itself: a scrape collects all metrics at once, so one gauge
    // cannot fill in the others in time. For SQLite the read is a few indexed queries per group.
    const groupGauge = (name: string, help: string, value: (status: GroupStatus) => number): void => {
      new Gauge({
        name, help, labelNames: ['feed', 'group'], registers,
        async collect() {
          this.reset();
          for (const status of await statuses()) this.set({ feed: status.feed, group: status.group }, value(status));
        },
      });
    };
    groupGauge('atommq_group_lag', 'Entries published that the group has not delivered yet', (s) => s.lag);
    groupGauge('atommq_group_pending', 'Messages under a live lease', (s) => s.pending);
    groupGauge('atommq_group_dead', 'Dead-lettered messages', (s) => s.dead);
    groupGauge('atommq_group_oldest_unacked_seconds', 'Age of the oldest message neither acked nor dead', (s) => (s.oldestUnackedMs ?? 0) / 1000);
  }

  private async groupStatuses(): Promise<GroupStatus[]> {
    const statuses: GroupStatus[] = [];
    for (const feed of this.sources.feeds()) {
      if (statuses.length >= MAX_GROUP_SERIES) break;
      statuses.push(...(await this.sources.storeFor(feed).groups.list(feed.name)).slice(0, MAX_GROUP_SERIES - statuses.length));
    }
    return statuses;
  }
}
