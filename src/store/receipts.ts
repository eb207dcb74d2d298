/**
 * Receipts, and what acks, nacks and extensions do with them, apart from any database: each store
 * reads the message a receipt names, asks `settle` what becomes of it, and writes that down.
 */
import { quoted } from '../errors/quote.js';
import { backoffSeconds, type ExtendRequest, type NackRequest, type ReceiptErrorCode, type ReceiptResult } from './groups.js';
import type { GroupRow, MessageRow, MessageState } from './group-rules.js';

/**
 * A receipt names one delivery: `<group id>.<seq>.<delivery>.<token>`. The group id tells a
 * receipt of another group (or of a deleted one) from this group's; seq and delivery number tell a
 * stale delivery from the current one; the token (96 random bits, stored with the delivery) makes
 * receipts unguessable, so holding a receipt is what lets a consumer settle a message.
 */
const RECEIPT = /^(\d{1,16})\.(\d{1,16})\.(\d{1,10})\.([A-Za-z0-9_-]{16})$/;

export function formatReceipt(group: number, seq: number, delivery: number, token: string): string {
  return `${group}.${seq}.${delivery}.${token}`;
}

/** A receipt of this group, as read from its text, before its message is looked at. */
export interface ParsedReceipt {
  readonly receipt: string;
  readonly seq: number;
  readonly delivery: number;
  readonly token: string;
}

/** The receipt's parts, or why it is not a receipt of this group. */
export function parseReceipt(group: GroupRow, receipt: string): ParsedReceipt | { readonly refused: ReceiptResult } {
  const match = RECEIPT.exec(receipt);
  if (!match) return { refused: refuse(receipt, 'RECEIPT_INVALID', `${quoted(receipt)} is not a receipt`) };
  if (Number(match[1]) !== group.id) {
    return { refused: refuse(receipt, 'RECEIPT_INVALID', `${quoted(receipt)} is a receipt of another consumer group, or of a deleted one, not of "${group.name}" of feed "${group.feed}"`) };
  }
  return { receipt, seq: Number(match[2]), delivery: Number(match[3]), token: match[4] as string };
}

/** What a settled receipt does to its message: remove it (acked), or set its state. */
export type MessageWrite =
  | { readonly remove: true }
  | { readonly remove?: false; readonly state: MessageState; readonly dueMs: number | null; readonly reason: string | null };

export interface Settlement {
  readonly result: ReceiptResult;
  readonly write?: MessageWrite | undefined;
}

/** Settles a receipt that holds its message; `row` undefined: the message is acked already. */
export type Decide = (receipt: string, seq: number, row: MessageRow | undefined) => Settlement;

/**
 * Settles one receipt given its message's current row: each action is idempotent (repeating it
 * answers the same success and changes nothing), and a receipt that no longer holds its message
 * (redelivered since, nacked, dead-lettered) is LEASE_LOST and changes nothing.
 *
 * A lease that ran out but whose message nobody claimed since still holds it: the consumer was
 * slow, not wrong, and no one else has the message.
 */
export function settle(group: GroupRow, parsed: ParsedReceipt, row: MessageRow | undefined, decide: Decide): Settlement {
  const { receipt, seq, delivery, token } = parsed;
  if (!row) {
    if (seq <= group.position) return decide(receipt, seq, undefined);
    return { result: refuse(receipt, 'LEASE_LOST', `the group was moved back before seq ${seq}, which it will deliver again`) };
  }
  if (row.deliveries !== delivery || row.receipt !== token) {
    return { result: refuse(receipt, 'LEASE_LOST', `seq ${seq} is no longer leased to delivery ${delivery}: it was delivered again (delivery ${row.deliveries})`) };
  }
  return decide(receipt, seq, row);
}

export const ack: Decide = (receipt, seq, row) => {
  if (!row) return { result: { receipt, ok: true, seq, state: 'acked', repeated: true } };
  if (row.state !== 'leased') return { result: released(receipt, seq, row) };
  return { result: { receipt, ok: true, seq, state: 'acked', repeated: false }, write: { remove: true } };
};

export function nack(group: GroupRow, request: NackRequest, now: number): Decide {
  const reason = request.reason ?? null;
  return (receipt, seq, row) => {
    if (!row) return { result: refuse(receipt, 'LEASE_LOST', `seq ${seq} is acked already`) };
    if (row.state === 'dead') return { result: { receipt, ok: true, seq, state: 'dead', repeated: true } };
    if (row.state === 'waiting') {
      return { result: { receipt, ok: true, seq, state: 'waiting', repeated: true, availableAt: row.due_ms ?? undefined } };
    }
    if (row.deliveries - row.base >= group.max_deliveries) {
      return { result: { receipt, ok: true, seq, state: 'dead', repeated: false }, write: { state: 'dead', dueMs: null, reason } };
    }
    const availableAt = now + 1000 * (request.delaySeconds ?? backoffSeconds(row.deliveries));
    return { result: { receipt, ok: true, seq, state: 'waiting', repeated: false, availableAt }, write: { state: 'waiting', dueMs: availableAt, reason } };
  };
}

export function extend(group: GroupRow, request: ExtendRequest, now: number): Decide {
  const leaseExpires = now + (request.leaseSeconds === undefined ? group.lease_ms : 1000 * request.leaseSeconds);
  return (receipt, seq, row) => {
    if (!row) return { result: refuse(receipt, 'LEASE_LOST', `seq ${seq} is acked already`) };
    if (row.state !== 'leased') return { result: released(receipt, seq, row) };
    return { result: { receipt, ok: true, seq, state: 'leased', repeated: false, leaseExpires }, write: { state: 'leased', dueMs: leaseExpires, reason: null } };
  };
}

/** The row as a write leaves it; undefined once removed. A null reason keeps the earlier one. */
export function afterWrite(row: MessageRow, write: MessageWrite): MessageRow | undefined {
  if (write.remove) return undefined;
  return { ...row, state: write.state, due_ms: write.dueMs, reason: write.reason ?? row.reason };
}

function released(receipt: string, seq: number, row: MessageRow): ReceiptResult {
  return refuse(receipt, 'LEASE_LOST', row.state === 'dead'
    ? `seq ${seq} was dead-lettered`
    : `delivery ${row.deliveries} of seq ${seq} was released (nacked or requeued) and waits for redelivery`);
}

function refuse(receipt: string, code: ReceiptErrorCode, detail: string): ReceiptResult {
  return { receipt, ok: false, code, detail };
}
