/**
 * The feed page's script, run by the browser (served as /ui/tail.js): tails the feed over SSE as
 * JSON, newest on top, and publishes the form's entry with a POST of JSON. Text goes into the page
 * only through textContent, so nothing an entry holds is ever parsed as HTML.
 */

/** The fields of an entry's JSON (`?format=json`) the page shows. */
interface EntryJson {
  seq: number;
  key: string;
  deleted?: boolean;
  title?: string;
  updated?: string;
  published?: string;
  content?: unknown;
}

/** Entries kept on the page: a busy feed must not grow the page without end. */
const SHOWN = 200;

function element(tag: string, text: string, className?: string): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** The title, linking to the entry's own page while the entry lives. */
function titleOf(entryPages: string, entry: EntryJson): HTMLElement {
  const title = element('strong', entry.title ?? '');
  if (entry.deleted) return title;
  const link = document.createElement('a');
  link.href = entryPages + encodeURIComponent(entry.key);
  link.append(title);
  return link;
}

function show(list: HTMLElement, entryPages: string, entry: EntryJson): void {
  const item = document.createElement('li');
  item.dataset.seq = String(entry.seq);
  const content = typeof entry.content === 'string' ? entry.content : JSON.stringify(entry.content ?? '');
  item.append(
    titleOf(entryPages, entry),
    element('div', `seq ${entry.seq} · ${entry.updated ?? entry.published ?? ''}`, 'meta'),
    element('pre', content),
  );
  list.prepend(item);
  while (list.children.length > SHOWN) list.lastElementChild?.remove();
}

function tail(feedUrl: string, entryPages: string, lastid: string, list: HTMLElement, state: HTMLElement): void {
  const source = new EventSource(`${feedUrl}?format=json&lastid=${encodeURIComponent(lastid)}`);
  source.onopen = () => { state.textContent = 'live'; };
  source.onerror = () => { state.textContent = 'reconnecting…'; };
  source.onmessage = (event: MessageEvent<string>) => show(list, entryPages, JSON.parse(event.data) as EntryJson);
}

function publishOnSubmit(feedUrl: string, form: HTMLFormElement, status: HTMLElement): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    status.textContent = 'publishing…';
    fetch(feedUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ title: data.get('title'), content: data.get('content') }),
    }).then(async (response) => {
      status.textContent = response.ok ? `published (${response.status})` : `refused: ${await response.text()}`;
      if (response.ok) form.reset();
    }, (error: unknown) => { status.textContent = `failed: ${String(error)}`; });
  });
}

const main = document.querySelector<HTMLElement>('main[data-feed]');
if (main) {
  // The server writes the URLs (feed-page.ts): it knows the base URL the browser reached it by.
  const feedUrl = main.dataset.feedUrl ?? '';
  tail(feedUrl, main.dataset.entryPages ?? '', main.dataset.lastid ?? '0', document.getElementById('entries') as HTMLElement,
    document.getElementById('state') as HTMLElement);
  publishOnSubmit(feedUrl, document.getElementById('publish') as HTMLFormElement, document.getElementById('status') as HTMLElement);
}
