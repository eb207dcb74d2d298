import { escapeXml } from '../../atom/parse-entry.js';
import type { PageItem } from '../../atom/render-feed.js';
import type { Change } from '../../store/store.js';

/** One fact about a delivery: an element in AtomMQ's namespace in Atom, a member in JSON. */
export interface Annotation {
  /** The element's local name, e.g. `lease-expires`. */
  readonly element: string;
  /** The JSON member's name, e.g. `leaseExpires`. */
  readonly member: string;
  readonly value: string | number;
}

/**
 * A stored entry with what a consumer group knows of it (its receipt, deliveries, lease), added
 * where the entry's own AtomMQ elements go: before the seq that closes each rendered form. The
 * stored root declares the `am` prefix, so the elements need no declaration of their own.
 */
export function annotate(change: Change, annotations: readonly Annotation[]): PageItem {
  const xml = change.xml + annotations.map((a) => `<am:${a.element}>${escapeXml(String(a.value))}</am:${a.element}>`).join('');
  const json = change.json + annotations.map((a) => `,${JSON.stringify(a.member)}:${JSON.stringify(a.value)}`).join('');
  return { seq: change.seq, deleted: change.deleted, rendered: { xml, json } };
}

/** RFC 3339, as Atom dates are written. */
export function rfc3339(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
