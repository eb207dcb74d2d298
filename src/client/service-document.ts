/** Reading an AtomPub service document (RFC 5023 section 8) into the feeds it lists. */
import { XMLParser } from 'fast-xml-parser';
import { ResponseError } from './errors.js';
import type { FeedInfo } from './types.js';

const serviceParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  isArray: (name) => name === 'workspace' || name === 'collection' || name === 'accept',
});

function text(node: unknown): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && '#text' in node) return String((node as Record<string, unknown>)['#text']);
  return '';
}

/** Reads the collections of an AtomPub service document (RFC 5023 section 8). */
export function parseServiceDocument(xml: string, fallbackBase: string): FeedInfo[] {
  let doc: Record<string, unknown>;
  try {
    doc = serviceParser.parse(xml) as Record<string, unknown>;
  } catch (error) {
    throw new ResponseError('the service document is not XML', error);
  }
  const service = doc.service as Record<string, unknown> | undefined;
  if (!service) throw new ResponseError('the answer to GET / is not an AtomPub service document');
  const base = typeof service['@_base'] === 'string' ? new URL(service['@_base'], fallbackBase).href : fallbackBase;
  const feeds: FeedInfo[] = [];
  for (const workspace of (service.workspace ?? []) as Array<Record<string, unknown>>) {
    for (const collection of (workspace.collection ?? []) as Array<Record<string, unknown>>) {
      const href = typeof collection['@_href'] === 'string' ? collection['@_href'] : '';
      const url = new URL(href, base).href;
      const name = decodeURIComponent(new URL(url).pathname.replace(/\/+$/, '').split('/').pop() ?? '');
      feeds.push({ name, title: text(collection.title), url, accept: ((collection.accept ?? []) as unknown[]).map(text) });
    }
  }
  return feeds;
}
