/**
 * Consumer groups over a transport (DESIGN.md section 10): claiming messages under a lease, acking,
 * nacking and extending them by receipt, and the groups' status.
 */
import { checkFeed, checkGroup, checkLimit, checkSeconds, checkWait } from './checks.js';
import { HttpError, InvalidArgumentError, LeaseLostError, ReceiptError, ResponseError } from './errors.js';
import type { ClaimedMessage, GroupStatus, ReceiptOutcome } from './group-types.js';
import { callOptions, readJson, type CallOptions, type Transport } from './transport.js';
import { isEntry } from './types.js';

/** Options of {@link AtomMQClient.claim}. */
export interface ClaimOptions extends CallOptions {
  /** Most messages to lease at once, 1 to 1000. @defaultValue 1 */
  readonly limit?: number;
  /**
   * When nothing is available, wait up to this many seconds for something to be (the server caps
   * it at the feed's maxWait) before answering with no messages. @defaultValue 0
   */
  readonly wait?: number;
  /** Whole seconds the messages stay leased to this claim, 1 to 43200. @defaultValue the group's lease (30 unless declared otherwise) */
  readonly lease?: number;
}

/** Options of {@link AtomMQClient.nack}. */
export interface NackOptions extends CallOptions {
  /** Whole seconds before the messages are delivered again. @defaultValue 1 s doubling with each delivery, at most 5 min */
  readonly delay?: number;
  /** Why, kept with the message and shown in the dead letters (at most 1000 characters are kept). */
  readonly reason?: string;
}

/** Options of {@link AtomMQClient.extend}. */
export interface ExtendOptions extends CallOptions {
  /** The lease from now on, in whole seconds. @defaultValue the group's lease */
  readonly lease?: number;
}

/** Most receipts one ack, nack or extension may carry. */
const MAX_RECEIPTS = 1000;
/** Refusals a receipt can get; any other status of a refused call is not about receipts. */
const RECEIPT_CODES = new Set(['LEASE_LOST', 'RECEIPT_INVALID']);

function checkReceipts(receipts: readonly string[]): void {
  if (!Array.isArray(receipts) || receipts.length < 1 || receipts.length > MAX_RECEIPTS || !receipts.every((r) => typeof r === 'string' && r !== '')) {
    throw new InvalidArgumentError(`receipts must be an array of 1 to ${MAX_RECEIPTS} receipts (non-empty strings)`);
  }
}

function dateOf(value: unknown, what: string): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new ResponseError(`${what} is not a date: ${String(value)}`);
  return date;
}

/** One claimed message of a claim's JSON answer. */
function claimedOf(raw: unknown, where: string): ClaimedMessage {
  const fields = raw as { receipt?: unknown; deliveries?: unknown; leaseExpires?: unknown };
  if (!isEntry(raw) || typeof fields.receipt !== 'string' || !Number.isSafeInteger(fields.deliveries)) {
    throw new ResponseError(`${where}: a claimed message lacks its seq, id, receipt or deliveries`);
  }
  return { ...(raw as unknown as ClaimedMessage), leaseExpires: dateOf(fields.leaseExpires, `${where}: leaseExpires`) };
}

/** The `results` member of an answer to an ack, nack or extension, or of its problem document. */
function outcomesOf(raw: unknown, where: string): ReceiptOutcome[] {
  if (!Array.isArray(raw)) throw new ResponseError(`${where}: the answer has no results array`);
  return raw.map((item: unknown) => {
    const r = item as { receipt?: unknown; seq?: unknown; status?: unknown; code?: unknown; detail?: unknown; leaseExpires?: unknown; availableAt?: unknown };
    if (typeof r?.receipt !== 'string' || typeof r.status !== 'string') throw new ResponseError(`${where}: a result names no receipt or status`);
    return {
      receipt: r.receipt,
      status: r.status,
      refused: r.status === 'refused',
      ...(Number.isSafeInteger(r.seq) ? { seq: r.seq as number } : {}),
      ...(typeof r.code === 'string' ? { code: r.code } : {}),
      ...(typeof r.detail === 'string' ? { detail: r.detail } : {}),
      ...(r.leaseExpires !== undefined ? { leaseExpires: dateOf(r.leaseExpires, `${where}: leaseExpires`) } : {}),
      ...(r.availableAt !== undefined ? { availableAt: dateOf(r.availableAt, `${where}: availableAt`) } : {}),
    };
  });
}

/** Consumer-group calls over a {@link Transport}. */
export class GroupApi {
  constructor(private readonly transport: Transport) {}

  async claim(feed: string, group: string, options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    checkFeed(feed);
    checkGroup(group);
    checkLimit(options.limit);
    checkWait(options.wait);
    checkSeconds(options.lease, 'lease');
    const wait = options.wait ?? 0;
    const path = `/feeds/${feed}/groups/${group}/claims`;
    const where = `POST ${this.transport.baseUrl}${path}`;
    // A claim is not idempotent: when a retry follows an answer that was lost, the first claim's
    // messages stay leased to nobody until their lease ends, and then come back (at-least-once).
    return this.transport.request({
      method: 'POST',
      path,
      query: { format: 'json', limit: options.limit, wait: wait > 0 ? wait : undefined, lease: options.lease },
      headers: { accept: 'application/json' },
      holdMs: wait * 1000,
      ...callOptions(options),
    }, async (answer) => {
      const body = await readJson<{ messages?: unknown }>(answer);
      if (!Array.isArray(body.messages)) throw new ResponseError(`${where}: the answer has no messages array`);
      return body.messages.map((m) => claimedOf(m, where));
    });
  }

  async ack(feed: string, group: string, receipts: readonly string[], options: CallOptions = {}): Promise<ReceiptOutcome[]> {
    return this.receipts(feed, group, 'acks', receipts, {}, options);
  }

  async nack(feed: string, group: string, receipts: readonly string[], options: NackOptions = {}): Promise<ReceiptOutcome[]> {
    checkSeconds(options.delay, 'delay');
    if (options.reason !== undefined && typeof options.reason !== 'string') throw new InvalidArgumentError('reason must be a string');
    return this.receipts(feed, group, 'nacks', receipts, { delay: options.delay, reason: options.reason }, options);
  }

  async extend(feed: string, group: string, receipts: readonly string[], options: ExtendOptions = {}): Promise<ReceiptOutcome[]> {
    checkSeconds(options.lease, 'lease');
    return this.receipts(feed, group, 'extensions', receipts, { lease: options.lease }, options);
  }

  async groups(feed: string, options: CallOptions = {}): Promise<GroupStatus[]> {
    checkFeed(feed);
    const path = `/feeds/${feed}/groups`;
    return this.transport.request({ method: 'GET', path, headers: { accept: 'application/json' }, ...callOptions(options) }, async (answer) => {
      const body = await readJson<{ groups?: unknown }>(answer);
      if (!Array.isArray(body.groups)) throw new ResponseError(`GET ${this.transport.baseUrl}${path}: the answer has no groups array`);
      return body.groups as GroupStatus[];
    });
  }

  async group(feed: string, group: string, options: CallOptions = {}): Promise<GroupStatus> {
    checkFeed(feed);
    checkGroup(group);
    const path = `/feeds/${feed}/groups/${group}`;
    return this.transport.request({ method: 'GET', path, headers: { accept: 'application/json' }, ...callOptions(options) },
      (answer) => readJson<GroupStatus>(answer));
  }

  /** POSTs receipts to `…/<action>`; a refusal of some of them becomes a {@link ReceiptError} with every receipt's outcome. */
  private async receipts(
    feed: string, group: string, action: 'acks' | 'nacks' | 'extensions', receipts: readonly string[],
    fields: Record<string, unknown>, options: CallOptions,
  ): Promise<ReceiptOutcome[]> {
    checkFeed(feed);
    checkGroup(group);
    checkReceipts(receipts);
    const path = `/feeds/${feed}/groups/${group}/${action}`;
    const where = `POST ${this.transport.baseUrl}${path}`;
    try {
      return await this.transport.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ receipts, ...fields }),
        ...callOptions(options),
      }, async (answer) => outcomesOf((await readJson<{ results?: unknown }>(answer)).results, where));
    } catch (error) {
      if (!(error instanceof HttpError) || !RECEIPT_CODES.has(error.code)) throw error;
      const results = Array.isArray(error.problem?.results) ? outcomesOf(error.problem.results, where) : [];
      const Refusal = error.code === 'LEASE_LOST' ? LeaseLostError : ReceiptError;
      throw new Refusal(error, 'POST', `${this.transport.baseUrl}${path}`, results);
    }
  }
}
