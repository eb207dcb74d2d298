/**
 * `POST …/acks`, `…/nacks` and `…/extensions`: settle deliveries by their receipts. Each receipt is
 * handled on its own and is idempotent; the answer lists every receipt's outcome.
 */
import type { Request, Response } from 'express';
import { AtomMQError } from '../../errors/index.js';
import { GROUP_LIMITS, type ReceiptResult, type ReceiptsResult } from '../../store/groups.js';
import type { AppContext } from '../context.js';
import { groupRequest, readGroupBody, wholeNumber, type GroupRequest } from './group-request.js';

export type ReceiptAction = 'acks' | 'nacks' | 'extensions';

/** The fields each action's body takes, and the store call it makes. */
const ACTIONS: Record<ReceiptAction, {
  readonly fields: readonly string[];
  readonly settle: (group: GroupRequest, receipts: string[], body: Record<string, unknown>) => Promise<ReceiptsResult>;
}> = {
  acks: {
    fields: ['receipts'],
    settle: ({ store, ref }, receipts) => store.groups.ack({ ...ref, receipts }),
  },
  nacks: {
    fields: ['receipts', 'delay', 'reason'],
    settle: ({ store, ref }, receipts, body) => store.groups.nack({
      ...ref, receipts, delaySeconds: wholeNumber(body.delay, 'delay', 0, GROUP_LIMITS.seconds, ' of seconds'), reason: body.reason as string | undefined,
    }),
  },
  extensions: {
    fields: ['receipts', 'lease'],
    settle: ({ store, ref }, receipts, body) => store.groups.extend({
      ...ref, receipts, leaseSeconds: wholeNumber(body.lease, 'lease', 1, GROUP_LIMITS.seconds, ' of seconds'),
    }),
  },
};

/** What became of a message, in the words of the answer. */
const STATUS: Record<Extract<ReceiptResult, { ok: true }>['state'], string> = {
  acked: 'acked',
  waiting: 'nacked',
  dead: 'dead-lettered',
  leased: 'extended',
};

/** One receipt's outcome as the answer lists it. */
function outcome(result: ReceiptResult): Record<string, unknown> {
  if (!result.ok) return { receipt: result.receipt, status: 'refused', code: result.code, detail: result.detail };
  return {
    receipt: result.receipt,
    seq: result.seq,
    status: `${STATUS[result.state]}${result.repeated ? ' (repeated)' : ''}`,
    ...(result.leaseExpires === undefined ? {} : { leaseExpires: new Date(result.leaseExpires).toISOString() }),
    ...(result.availableAt === undefined ? {} : { availableAt: new Date(result.availableAt).toISOString() }),
  };
}

/**
 * Settles the receipts of the body. 200 with every outcome when all succeeded; otherwise the
 * problem of the first refused receipt (409 LEASE_LOST, 400 RECEIPT_INVALID), with every outcome
 * in its `results` member: the receipts that succeeded were applied all the same.
 */
export async function postReceipts(ctx: AppContext, req: Request, res: Response, action: ReceiptAction): Promise<void> {
  const group = groupRequest(ctx, req);
  const { fields, settle } = ACTIONS[action];
  const body = readGroupBody(req, fields);
  if (body.receipts === undefined) {
    throw new AtomMQError('INVALID_PARAMETER', 'receipts: the body names no receipt; send {"receipts": ["…"]} or receipt=… form fields');
  }
  const { results } = await settle(group, body.receipts as string[], body);
  const answer = results.map(outcome);
  const refused = results.findIndex((r) => !r.ok);
  const first = results[refused];
  if (first && !first.ok) {
    throw new AtomMQError(first.code, `receipt ${refused + 1} of ${results.length}: ${first.detail}`, { members: { results: answer } });
  }
  res.set('Cache-Control', 'no-store').json({ results: answer });
}
