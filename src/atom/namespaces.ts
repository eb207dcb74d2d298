/** XML namespaces AtomMQ reads and writes. */
export const NS = {
  atom: 'http://www.w3.org/2005/Atom',
  app: 'http://www.w3.org/2007/app',
  xhtml: 'http://www.w3.org/1999/xhtml',
  /** RFC 6721 tombstones. */
  at: 'http://purl.org/atompub/tombstones/1.0',
  /** AtomMQ's own elements: `<am:seq>` on every entry. */
  am: 'http://atommq.org/ns/1.0',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;
