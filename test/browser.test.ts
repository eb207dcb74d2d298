/**
 * A real browser's EventSource on a feed: Debian's Chromium, headless, driven by playwright-core
 * (which drives an installed browser and downloads none). The page parses each event's data with
 * the browser's own XML parser, and the browser's own reconnection algorithm (`retry:`,
 * `Last-Event-ID`) carries it across a server restart.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, noChromium } from './support/chromium.js';
import { ProcessScope, spawnServer } from './support/server.js';
import { eventually, publishMany } from './support/streams.js';

/**
 * What the page records. Runs in the browser, so it may use nothing from this module.
 * `window.received` is read back with page.evaluate.
 */
interface Received {
  events: Array<{ id: number; root: string; namespace: string | null; title: string | null; wellFormed: boolean }>;
  closings: Array<{ code: string; lastid: number }>;
  opens: number;
}

function subscribe(path: string): void {
  const received: Received = { events: [], closings: [], opens: 0 };
  (window as unknown as { received: Received }).received = received;
  const source = new EventSource(path);
  source.onopen = () => { received.opens++; };
  source.onmessage = (event) => {
    const doc = new DOMParser().parseFromString(event.data as string, 'application/xml');
    const root = doc.documentElement;
    received.events.push({
      id: Number(event.lastEventId),
      root: root.localName,
      namespace: root.namespaceURI,
      title: root.getElementsByTagNameNS('http://www.w3.org/2005/Atom', 'title')[0]?.textContent ?? null,
      wellFormed: doc.getElementsByTagName('parsererror').length === 0,
    });
  };
  source.addEventListener('closing', (event) => received.closings.push(JSON.parse((event as MessageEvent).data as string)));
}

const received = (page: Page): Promise<Received> =>
  page.evaluate(() => (window as unknown as { received: Received }).received);

describe('a browser EventSource (headless Chromium)', () => {
  const scope = new ProcessScope();
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    await scope.cleanUp();
  });

  test('gets the backlog and live entries as Atom, and resumes by itself after a server restart', { timeout: 60_000, skip: noChromium }, async () => {
    const args = await scope.serverArgs('atommq-browser-', { news: {} });
    const first = scope.track(await spawnServer(args));
    const feedUrl = `${first.url}/feeds/news`;
    const backlog = await publishMany(feedUrl, 3, 1, 'backlog');

    browser = await launchChromium();
    const page = await browser.newPage();
    // Any page of the server's makes the EventSource same-origin.
    await page.goto(`${first.url}/healthz`);
    await page.evaluate(subscribe, '/feeds/news?lastid=0');
    await eventually(async () => (await received(page)).events.length === 3, 'the backlog in the browser');
    const live = await publishMany(feedUrl, 3, 1, 'live');
    await eventually(async () => (await received(page)).events.length === 6, 'the live entries in the browser');

    let got = await received(page);
    assert.deepEqual(got.events.map((e) => e.id), [...backlog, ...live]);
    assert.deepEqual(got.events.map((e) => e.title), ['backlog0', 'backlog1', 'backlog2', 'live0', 'live1', 'live2']);
    for (const event of got.events) {
      assert.ok(event.wellFormed, `event ${event.id} is well-formed XML to the browser`);
      assert.deepEqual([event.root, event.namespace], ['entry', 'http://www.w3.org/2005/Atom']);
    }

    first.process.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    const second = scope.track(await spawnServer(args));
    const afterRestart = await publishMany(`${second.url}/feeds/news`, 3, 1, 'after');
    await eventually(async () => (await received(page)).events.length === 9, 'the entries published after the restart', 20_000);

    got = await received(page);
    assert.deepEqual(got.events.map((e) => e.id), [...backlog, ...live, ...afterRestart], 'nothing missed or repeated');
    assert.deepEqual(got.closings.map((c) => [c.code, c.lastid]), [['SHUTTING_DOWN', live.at(-1)]], 'told why the stream ended, and where');
    assert.ok(got.opens >= 2, 'the browser reconnected by itself');
  });
});
