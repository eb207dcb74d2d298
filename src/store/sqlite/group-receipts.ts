import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { quoted } from '../../errors/quote.js';
import { backoffSeconds, type ExtendRequest, type NackRequest, type ReceiptErrorCode, type ReceiptResult } from '../groups.js';
import { MESSAGE_COLUMNS, type GroupRow, type MessageRow } from './group-schema.js';

/**
 * A receipt names one delivery: `<group id>.<seq>.<delivery>.<token>`. The group id tells a
 * receipt of another group (or of a deleted one) from this group's; seq and delivery number tell a
 * stale delivery from the current one; the token (96 random bits, stored with the delivery) makes
 * receipts unguessable, so holding a receipt is what lets a consumer settle a message.
 */
const RECEIPT = /^(\d{1,16})\.(\d{1,16})\.(\d{1,10})\.([A-Za-z0-9_-]{16})$/;

export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

export function formatReceipt(group: number, seq: number, delivery: number, token: string): string {
  return `${group}.${seq}.${delivery}.${token}`;
}

/**
 * What a receipt holds: its message's row (the receipt names the current delivery), `undefined`
 * when the message is acked already, or the refusal to answer.
 */
type Held = { readonly seq: number; readonly row: MessageRow | undefined } | { readonly refused: ReceiptResult };

/** Settles one held receipt; `row` undefined: the message is acked already. */
type Settle = (receipt: string, seq: number, row: MessageRow | undefined) => ReceiptResult;

/**
 * Acks, nacks and extensions, receipt by receipt, inside the writer's transaction. Each is
 * idempotent: repeating one answers the same success and changes nothing. A receipt that no longer
 * holds its message (redelivered since, nacked, dead-lettered) is LEASE_LOST and changes nothing.
 */
export class ReceiptWriter {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      message: db.prepare<[number, number], MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM group_messages WHERE grp = ? AND seq = ?`),
      remove: db.prepare<[number, number], never>('DELETE FROM group_messages WHERE grp = ? AND seq = ?'),
      settle: db.prepare<[string, number | null, string | null, number, number], never>(
        'UPDATE group_messages SET state = ?, due_ms = ?, reason = COALESCE(?, reason) WHERE grp = ? AND seq = ?'),
    };
  }

  ack(group: GroupRow, receipts: readonly string[]): ReceiptResult[] {
    return this.each(group, receipts, (receipt, seq, row) => {
      if (!row) return { receipt, ok: true, seq, state: 'acked', repeated: true };
      if (row.state !== 'leased') return released(receipt, seq, row);
      this.s.remove.run(group.id, seq);
      return { receipt, ok: true, seq, state: 'acked', repeated: false };
    });
  }

  nack(group: GroupRow, request: NackRequest, now: number): ReceiptResult[] {
    return this.each(group, request.receipts, (receipt, seq, row) => {
      if (!row) return refuse(receipt, 'LEASE_LOST', `seq ${seq} is acked already`);
      if (row.state === 'dead') return { receipt, ok: true, seq, state: 'dead', repeated: true };
      if (row.state === 'waiting') return { receipt, ok: true, seq, state: 'waiting', repeated: true, availableAt: row.due_ms ?? undefined };
      if (row.deliveries - row.base >= group.max_deliveries) {
        this.s.settle.run('dead', null, request.reason ?? null, group.id, seq);
        return { receipt, ok: true, seq, state: 'dead', repeated: false };
      }
      const availableAt = now + 1000 * (request.delaySeconds ?? backoffSeconds(row.deliveries));
      this.s.settle.run('waiting', availableAt, request.reason ?? null, group.id, seq);
      return { receipt, ok: true, seq, state: 'waiting', repeated: false, availableAt };
    });
  }

  extend(group: GroupRow, request: ExtendRequest, now: number): ReceiptResult[] {
    const leaseExpires = now + (request.leaseSeconds === undefined ? group.lease_ms : 1000 * request.leaseSeconds);
    return this.each(group, request.receipts, (receipt, seq, row) => {
      if (!row) return refuse(receipt, 'LEASE_LOST', `seq ${seq} is acked already`);
      if (row.state !== 'leased') return released(receipt, seq, row);
      this.s.settle.run('leased', leaseExpires, null, group.id, seq);
      return { receipt, ok: true, seq, state: 'leased', repeated: false, leaseExpires };
    });
  }

  private each(group: GroupRow, receipts: readonly string[], settle: Settle): ReceiptResult[] {
    return receipts.map((receipt) => {
      const held = this.hold(group, receipt);
      return 'refused' in held ? held.refused : settle(receipt, held.seq, held.row);
    });
  }

  /**
   * A lease that ran out but whose message nobody claimed since still holds it: the consumer was
   * slow, not wrong, and no one else has the message.
   */
  private hold(group: GroupRow, receipt: string): Held {
    const match = RECEIPT.exec(receipt);
    if (!match) return { refused: refuse(receipt, 'RECEIPT_INVALID', `${quoted(receipt)} is not a receipt`) };
    const [id, seq, delivery] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (id !== group.id) {
      return { refused: refuse(receipt, 'RECEIPT_INVALID', `${quoted(receipt)} is a receipt of another consumer group, or of a deleted one, not of "${group.name}" of feed "${group.feed}"`) };
    }
    const row = this.s.message.get(group.id, seq);
    if (!row) {
      if (seq <= group.position) return { seq, row: undefined };
      return { refused: refuse(receipt, 'LEASE_LOST', `the group was moved back before seq ${seq}, which it will deliver again`) };
    }
    if (row.deliveries !== delivery || row.receipt !== match[4]) {
      return { refused: refuse(receipt, 'LEASE_LOST', `seq ${seq} is no longer leased to delivery ${delivery}: it was delivered again (delivery ${row.deliveries})`) };
    }
    return { seq, row };
  }
}

function released(receipt: string, seq: number, row: MessageRow): ReceiptResult {
  return refuse(receipt, 'LEASE_LOST', row.state === 'dead'
    ? `seq ${seq} was dead-lettered`
    : `delivery ${row.deliveries} of seq ${seq} was released (nacked or requeued) and waits for redelivery`);
}

function refuse(receipt: string, code: ReceiptErrorCode, detail: string): ReceiptResult {
  return { receipt, ok: false, code, detail };
}
