import type Database from 'better-sqlite3';
import type { ExtendRequest, NackRequest, ReceiptResult } from '../groups.js';
import type { GroupRow, MessageRow } from '../group-rules.js';
import * as receipts from '../receipts.js';
import { MESSAGE_COLUMNS } from './group-schema.js';

/**
 * Acks, nacks and extensions, receipt by receipt, inside the writer's transaction; what each does
 * is decided in ../receipts.ts, the same for every store.
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

  ack(group: GroupRow, list: readonly string[]): ReceiptResult[] {
    return this.each(group, list, receipts.ack);
  }

  nack(group: GroupRow, request: NackRequest, now: number): ReceiptResult[] {
    return this.each(group, request.receipts, receipts.nack(group, request, now));
  }

  extend(group: GroupRow, request: ExtendRequest, now: number): ReceiptResult[] {
    return this.each(group, request.receipts, receipts.extend(group, request, now));
  }

  private each(group: GroupRow, list: readonly string[], decide: receipts.Decide): ReceiptResult[] {
    return list.map((receipt) => {
      const parsed = receipts.parseReceipt(group, receipt);
      if ('refused' in parsed) return parsed.refused;
      const { result, write } = receipts.settle(group, parsed, this.s.message.get(group.id, parsed.seq), decide);
      if (write?.remove) this.s.remove.run(group.id, parsed.seq);
      else if (write) this.s.settle.run(write.state, write.dueMs, write.reason, group.id, parsed.seq);
      return result;
    });
  }
}
