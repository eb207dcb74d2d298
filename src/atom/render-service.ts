import type { FeedHead } from './feed-head.js';
import { NS } from './namespaces.js';
import { attributesXml, textTag } from './xml-write.js';

const ACCEPTS = textTag('accept', 'application/atom+xml;type=entry') + textTag('accept', 'application/json');

/**
 * The AtomPub service document (RFC 5023 8): one workspace, one collection per feed, in the order given.
 *
 * @example renderServiceXml('http://localhost:8080/', [{ name: 'orders', title: 'Orders' }])
 */
export function renderServiceXml(base: string, feeds: ReadonlyArray<Pick<FeedHead, 'name' | 'title'>>): string {
  let collections = '';
  for (const feed of feeds) {
    collections += `<collection${attributesXml({ href: `feeds/${feed.name}` })}>${textTag('atom:title', feed.title)}${ACCEPTS}</collection>`;
  }
  return `<?xml version="1.0" encoding="UTF-8"?><service xmlns="${NS.app}" xmlns:atom="${NS.atom}"${attributesXml({ 'xml:base': base })}>` +
    `<workspace>${textTag('atom:title', 'AtomMQ')}${collections}</workspace></service>`;
}
