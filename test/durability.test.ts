/**
 * Durability under a crash: a real `atommq serve` child process is SIGKILLed while eight
 * publishers hammer it, then restarted on the same database. Every POST that was answered 201
 * must still be there, once, at the seq it was acknowledged with; a POST cut off by the kill may
 * be present or absent but never twice; seqs keep growing across restarts (DESIGN.md section 8).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entryXml, postAtom, ProcessScope, readJson, spawnServer,
  type JsonEntry,
} from './support/server.js';

const FEED = 'crash';
const PUBLISHERS = 8;
const LOAD_MS = 1500;
const ROUNDS = 3;

interface RoundResult {
  /** title -> seq, for every POST answered 201. */
  acked: Map<string, number>;
  /** Titles whose POST got no answer because of the kill: present at most once, or absent. */
  unknown: Set<string>;
}

/** Publishes distinct entries from `PUBLISHERS` concurrent loops until `stop()` says so. */
function publishUntilStopped(feedUrl: string, round: number): { stop: () => void; done: Promise<RoundResult> } {
  const acked = new Map<string, number>();
  const unknown = new Set<string>();
  let stopped = false;
  const publisher = async (p: number): Promise<void> => {
    for (let n = 0; !stopped; n++) {
      const title = `round${round}-publisher${p}-n${n}`;
      let res: Response;
      try {
        res = await postAtom(feedUrl, entryXml(title));
      } catch {
        // The connection died with the server: the entry may or may not have been committed.
        unknown.add(title);
        return;
      }
      if (res.status === 201) {
        const seq = Number(res.headers.get('xlastid'));
        assert.ok(Number.isSafeInteger(seq) && seq > 0, `201 for ${title} carries Xlastid ${res.headers.get('xlastid')}`);
        acked.set(title, seq);
        await res.arrayBuffer().catch(() => undefined);
      } else {
        const body = await res.text().catch(() => '');
        assert.fail(`POST ${title}: unexpected ${res.status} ${body}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p))).then(() => ({ acked, unknown }));
  return { stop: () => { stopped = true; }, done };
}

/** Every change of the feed, oldest first, paging the cursor view from 0 with limit=1000. */
async function readWholeFeed(feedUrl: string): Promise<JsonEntry[]> {
  const all: JsonEntry[] = [];
  let cursor = 0;
  for (;;) {
    const { status, headers, body } = await readJson(feedUrl, cursor, '&limit=1000');
    assert.equal(status, 200);
    all.push(...body.entries);
    const lastid = Number(headers.get('xlastid'));
    assert.equal(lastid, body.entries.at(-1)?.seq ?? cursor, 'Xlastid is the last seq on the page, or the cursor');
    if (body.entries.length === 0) return all;
    cursor = lastid;
  }
}

describe('durability across SIGKILL', () => {
  const scope = new ProcessScope();
  after(scope.cleanUp);

  test('every acknowledged entry survives a kill mid-load, once, at its seq; seqs keep growing', { timeout: 60_000 }, async () => {
    const args = await scope.serverArgs('atommq-durability-', { [FEED]: {} });

    /** Everything acknowledged in any round so far: title -> seq. Must all survive every later crash too. */
    const everAcked = new Map<string, number>();
    /** Everything whose fate the kill made unknown, in any round. */
    const everUnknown = new Set<string>();

    let server = await spawnServer(args);
    scope.track(server);
    for (let round = 1; round <= ROUNDS; round++) {
      const feedUrl = `${server.url}/feeds/${FEED}`;
      const load = publishUntilStopped(feedUrl, round);
      await new Promise((r) => setTimeout(r, LOAD_MS));
      load.stop();
      server.process.kill('SIGKILL');
      assert.equal(await server.exited, 'SIGKILL');
      const { acked, unknown } = await load.done;
      assert.ok(acked.size > 20, `round ${round}: only ${acked.size} POSTs were acknowledged before the kill; the load is too light to test anything`);
      for (const [title, seq] of acked) everAcked.set(title, seq);
      for (const title of unknown) everUnknown.add(title);

      server = await spawnServer(args);
      scope.track(server);
      const entries = await readWholeFeed(`${server.url}/feeds/${FEED}`);

      // Seqs strictly increasing, titles unique.
      const seen = new Map<string, number>();
      let previous = 0;
      for (const entry of entries) {
        assert.ok(entry.seq > previous, `round ${round}: seq ${entry.seq} follows ${previous}`);
        previous = entry.seq;
        const title = String(entry.title);
        assert.ok(!seen.has(title), `round ${round}: "${title}" appears twice, at seq ${seen.get(title)} and ${entry.seq}`);
        seen.set(title, entry.seq);
        assert.ok(everAcked.has(title) || everUnknown.has(title), `round ${round}: "${title}" was never published`);
      }
      // Every acknowledged entry, from this round and every earlier one, is there at its seq.
      const missing = [...everAcked].filter(([title]) => !seen.has(title));
      assert.deepEqual(missing, [], `round ${round}: ${missing.length} acknowledged entries are lost`);
      for (const [title, seq] of everAcked) {
        assert.equal(seen.get(title), seq, `round ${round}: "${title}" was acknowledged at seq ${seq}`);
      }

      // A new entry after the restart gets a seq beyond everything stored before.
      const res = await postAtom(`${server.url}/feeds/${FEED}`, entryXml(`round${round}-after-restart`));
      assert.equal(res.status, 201);
      await res.arrayBuffer();
      const seq = Number(res.headers.get('xlastid'));
      assert.ok(seq > previous, `round ${round}: the first seq after restart (${seq}) must exceed every earlier seq (${previous})`);
      everAcked.set(`round${round}-after-restart`, seq);
    }

    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });
});
