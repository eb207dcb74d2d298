import { jsonWithSeq } from '../../../atom/finish-entry.js';
import type { LiveEntry, Person } from '../../../client/types.js';
import type { FeedConfig } from '../../../config/feed-config.js';
import type { StoredEntry } from '../../../store/store.js';
import { entryPagePath, feedPagePath, memberPath } from '../../urls.js';
import { html, page } from './html.js';

/** A value as text: a string as it is, anything else (JSON content) as indented JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/**
 * A URL an entry gives, as a link only when it is http(s): relative ones resolve against the
 * server's base, as every href in an entry does, and `javascript:` or `data:` stay text.
 */
function urlHtml(href: string, base: string): string {
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    return html(href);
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? `<a href="${html(url.href)}" rel="noreferrer">${html(href)}</a>` : html(href);
}

function personHtml(person: Person, base: string): string {
  return html(person.name) + (person.email ? ` &lt;${html(person.email)}&gt;` : '') + (person.uri ? ` ${urlHtml(person.uri, base)}` : '');
}

/**
 * The content as the page shows it. Markup an entry holds (html, xhtml) goes into a sandboxed frame
 * as its srcdoc, an attribute value, escaped: it is parsed only there, where no script runs and
 * nothing reaches this page; everything else is text.
 */
function contentHtml(fields: LiveEntry, base: string): string {
  const type = fields.contentType ?? 'text';
  if (fields.contentSrc !== undefined) return `<p>Content (${html(type)}) at ${urlHtml(fields.contentSrc, base)}</p>`;
  if (fields.content === undefined) return '';
  if (type === 'html' || type === 'xhtml') {
    return `<iframe id="content" sandbox srcdoc="${html(asText(fields.content))}" title="content"></iframe>`;
  }
  return `<pre id="content">${html(asText(fields.content))}</pre>`;
}

/** The rows of the entry's table: what it says about itself besides title and content. */
function fieldRows(fields: LiveEntry, base: string, ownPage: string): string {
  const rows: Array<[string, string]> = [
    ['seq', String(fields.seq)],
    ['id', html(fields.id)],
    ['updated', html(fields.updated)],
    ['published', html(fields.published)],
    ['authors', fields.authors.map((p) => personHtml(p, base)).join(', ')],
  ];
  if (fields.categories.length > 0) {
    rows.push(['categories', fields.categories.map((c) => html(c.label ?? c.term ?? '')).join(', ')]);
  }
  const links = fields.links.filter((l) => l.href !== ownPage);
  if (links.length > 0) {
    rows.push(['links', links.map((l) => `${html(l.rel ?? 'alternate')}: ${urlHtml(l.href ?? '', base)}`).join('<br>')]);
  }
  return rows.map(([name, value]) => `<tr><th>${name}</th><td>${value}</td></tr>`).join('\n');
}

/**
 * An entry's page (`/ui/feeds/<name>/entries/<key>`, and its member URL for a browser): its fields,
 * its content shown safely, links to its feed's page and to the entry as Atom and JSON.
 */
export function entryPageHtml(feed: FeedConfig, entry: StoredEntry, base: string): string {
  const fields = JSON.parse(jsonWithSeq(entry, entry.seq)) as LiveEntry;
  const title = asText(fields.title);
  const member = base + memberPath(feed.name, entry.key);
  return page(`${title || entry.key} – ${feed.name} – AtomMQ`, `<p><a href="${html(base + feedPagePath(feed.name))}">${html(feed.name)}</a></p>
<article><h1 id="title">${html(title)}</h1>
<table id="fields">${fieldRows(fields, base, entryPagePath(feed.name, entry.key))}</table>
${fields.summary === undefined ? '' : `<p id="summary">${html(asText(fields.summary))}</p>`}
${contentHtml(fields, base)}</article>
<p class="meta">This entry as <a href="${html(member)}?format=atom">Atom</a> or <a href="${html(member)}?format=json">JSON</a>.</p>`);
}
