/**
 * Checks shared by the tests of refusals: the answer is an RFC 9457 problem with the right status
 * and code, and nothing was stored (the feed's cursor view from 0 is byte for byte the same).
 */
import assert from 'node:assert/strict';
import { readJson } from './server.js';

export interface CheckedProblem {
  type?: unknown;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** Asserts an RFC 9457 answer with this status and code, and returns the problem document. */
export async function expectProblem(res: Response, status: number, code: string | readonly string[]): Promise<CheckedProblem> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json\b/, `not problem+json: ${text}`);
  const problem = JSON.parse(text) as Record<string, unknown>;
  assert.equal(problem.status, status, 'problem.status equals the HTTP status');
  assert.equal(typeof problem.title, 'string');
  assert.ok((problem.title as string).length > 0, 'problem.title is not empty');
  assert.equal(typeof problem.detail, 'string');
  assert.ok((problem.detail as string).length > 0, 'problem.detail is not empty');
  assert.equal(typeof problem.code, 'string');
  if (typeof code === 'string') assert.equal(problem.code, code, `detail: ${String(problem.detail)}`);
  else assert.ok(code.includes(problem.code as string), `code ${String(problem.code)} is not one of ${code.join(', ')}`);
  return problem as unknown as CheckedProblem;
}

/** The whole cursor view from 0 (entries and lastid), as text to compare. */
export async function cursorView(feedUrl: string): Promise<string> {
  const page = await readJson(feedUrl, 0, '&limit=1000');
  assert.equal(page.status, 200);
  assert.equal(page.body.next, null, 'the test feed fits on one page');
  return JSON.stringify({ entries: page.body.entries, lastid: page.body.lastid, xlastid: page.headers.get('xlastid') });
}

/** Sends a request, checks that it is refused with this problem, and that the feed at `feedUrl` did not change. */
export async function refusedAt(feedUrl: string, send: () => Promise<Response>, status: number, code: string | readonly string[]): Promise<CheckedProblem> {
  const before = await cursorView(feedUrl);
  const problem = await expectProblem(await send(), status, code);
  assert.equal(await cursorView(feedUrl), before, 'the feed changed: a refused request stored something');
  return problem;
}
