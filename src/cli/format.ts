/** Human renderings of entries for the terminal (`--json` prints the entries themselves). */
import type { Entry } from '../client/types.js';

function preview(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const line = (text ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * One line per entry: seq, time, title and the start of the content.
 *
 * @example formatEntry(entry) // '42  2026-01-02T03:04:05.678Z  order  {"orderId":42}'
 */
export function formatEntry(entry: Entry): string {
  if (entry.deleted) return `${entry.seq}  ${entry.edited}  (deleted ${entry.id})`;
  const content = entry.content === undefined ? '' : `  ${preview(entry.content)}`;
  return `${entry.seq}  ${entry.edited}  ${entry.title === '' ? '(untitled)' : preview(entry.title, 60)}${content}`;
}
