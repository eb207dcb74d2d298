/** Helpers for the consumer-group tests over HTTP: claims, receipts, status, and a commit observer. */
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';
import type { Problem } from './server.js';

export interface ClaimedJson {
  seq: number;
  id: string;
  key: string;
  title?: string;
  receipt: string;
  deliveries: number;
  leaseExpires: string;
  [field: string]: unknown;
}

export interface ClaimAnswer {
  status: number;
  headers: Headers;
  messages: ClaimedJson[];
  /** Milliseconds from sending the claim to its answer. */
  ms: number;
}

export interface ClaimOptions {
  limit?: number;
  wait?: number;
  lease?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `POST …/groups/<group>/claims` in JSON. */
export async function claim(feedUrl: string, group: string, options: ClaimOptions = {}): Promise<ClaimAnswer> {
  const query = new URLSearchParams({ format: 'json' });
  for (const name of ['limit', 'wait', 'lease'] as const) {
    if (options[name] !== undefined) query.set(name, String(options[name]));
  }
  const started = Date.now();
  const res = await fetch(`${feedUrl}/groups/${group}/claims?${query}`, { method: 'POST', headers: options.headers, signal: options.signal });
  const body = await res.text();
  const ms = Date.now() - started;
  assert.equal(res.status, 200, `claim: ${res.status} ${body}`);
  return { status: res.status, headers: res.headers, messages: (JSON.parse(body) as { messages: ClaimedJson[] }).messages, ms };
}

export interface ReceiptOutcome {
  receipt: string;
  seq?: number;
  status: string;
  code?: string;
  leaseExpires?: string;
  availableAt?: string;
}

export interface SettleAnswer {
  status: number;
  /** The problem document's code when refused. */
  code: string | undefined;
  results: ReceiptOutcome[];
}

/** `POST …/acks`, `…/nacks` or `…/extensions` with a JSON body. */
export async function settle(feedUrl: string, group: string, action: 'acks' | 'nacks' | 'extensions',
  receipts: readonly string[], extra: Record<string, unknown> = {}): Promise<SettleAnswer> {
  const res = await fetch(`${feedUrl}/groups/${group}/${action}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ receipts, ...extra }),
  });
  const body = (await res.json()) as { results?: ReceiptOutcome[] } & Partial<Problem>;
  return { status: res.status, code: body.code, results: body.results ?? [] };
}

export async function ack(feedUrl: string, group: string, receipts: readonly string[]): Promise<SettleAnswer> {
  return settle(feedUrl, group, 'acks', receipts);
}

export interface GroupStatusJson {
  feed: string;
  group: string;
  leaseSeconds: number;
  maxDeliveries: number;
  start: string;
  position: number;
  ackFloor: number;
  pending: number;
  waiting: number;
  lag: number;
  dead: number;
  expired: number;
  oldestUnackedSeconds: number | null;
}

export async function groupStatus(feedUrl: string, group: string): Promise<GroupStatusJson> {
  const res = await fetch(`${feedUrl}/groups/${group}`);
  assert.equal(res.status, 200);
  return (await res.json()) as GroupStatusJson;
}

/** `PUT …/groups/<group>` with a JSON body; resolves with the status code and body. */
export async function putGroup(feedUrl: string, group: string, body: object): Promise<{ status: number; body: GroupStatusJson & Partial<Problem> }> {
  const res = await fetch(`${feedUrl}/groups/${group}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as GroupStatusJson & Partial<Problem> };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Counts the group writes a store commits, claims included, by group: each one calls the store's
 * onChange. A held claim that polled the store would show here.
 */
export class GroupWrites {
  private readonly counts = new Map<string, number>();

  constructor(store: Store) {
    store.groups.onChange((change) => this.counts.set(change.group, this.of(change.group) + 1));
  }

  of(group: string): number {
    return this.counts.get(group) ?? 0;
  }
}
