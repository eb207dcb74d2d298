import { withSeq, withXmlBase } from '../../atom/finish-entry.js';
import type { Change, Gap } from '../../store/store.js';
import type { Format } from '../read-params.js';

const frames = new WeakMap<Change, Map<string, Buffer>>();

/**
 * A change's bytes for one kind of stream, made (and encoded) once per change however many
 * streams carry it: a broadcast to many readers hands the same Change to all of them.
 */
export function frameOf(change: Change, kind: string, make: (change: Change) => string): Buffer {
  let byKind = frames.get(change);
  if (!byKind) frames.set(change, (byKind = new Map()));
  let frame = byKind.get(kind);
  if (frame === undefined) byKind.set(kind, (frame = Buffer.from(make(change))));
  return frame;
}

/** A change as the entry document a stream carries: Atom (with xml:base) or JSON, with its seq. */
export function renderChange(change: Change, format: Format, base: string): string {
  const rendered = withSeq(change, change.seq, change.deleted);
  return format === 'json' ? rendered.json : withXmlBase(rendered.xml, base);
}

/** A gap as streams tell it (an SSE `gap` event's data, a comet line, a WebSocket message): `{"gap":{"from":F,"to":T}}`. */
export function gapJson(gap: Gap): string {
  return JSON.stringify({ gap: { from: gap.from, to: gap.to } });
}
