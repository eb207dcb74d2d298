/** XML namespaces AtomMQ reads and writes. */
export const NS = {
  atom: 'http://www.w3.org/2005/Atom',
  app: 'http://www.w3.org/2007/app',
  xhtml: 'http://www.w3.org/1999/xhtml',
  /** RFC 6721 tombstones. */
  at: 'http://purl.org/atompub/tombstones/1.0',
  /** AtomMQ's own elements: `<am:seq>` on every entry. */
  am: 'http://atommq.org/ns/1.0',
  /** A QST message's from, to and properties, kept in the entry it became. */
  qst: 'http://atommq.org/ns/qst',
  xml: 'http://www.w3.org/XML/1998/namespace',
  /** Bound to the xmlns prefix by definition, and to nothing else. */
  xmlns: 'http://www.w3.org/2000/xmlns/',
} as const;

/** The bindings in scope inside a stored entry, as render-entry.ts writes its root. */
export const ENTRY_SCOPE: ReadonlyMap<string, string> = new Map([['', NS.atom], ['app', NS.app], ['am', NS.am], ['xml', NS.xml]]);
