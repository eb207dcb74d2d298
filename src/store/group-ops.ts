/**
 * Consumer-group writes as plain data, the same for every store: each crosses to the store's
 * writer (a thread for SQLite, a batch transaction for PostgreSQL) and answers its own result type.
 */
import type {
  ClaimRequest, ClaimResult, ExtendRequest, GroupRef, GroupSettings, MoveRequest, NackRequest, NextDue, ReceiptRequest,
  ReceiptsResult, RequeueRequest, RequeueResult,
} from './groups.js';

export interface Due {
  readonly nextDue: NextDue;
}

/** Each group write, and what it answers. */
export interface GroupWrites {
  declare: { request: GroupRef & { readonly settings: Partial<GroupSettings> }; result: Due };
  claim: { request: ClaimRequest; result: ClaimResult };
  ack: { request: ReceiptRequest; result: ReceiptsResult };
  nack: { request: NackRequest; result: ReceiptsResult };
  extend: { request: ExtendRequest; result: ReceiptsResult };
  requeue: { request: RequeueRequest; result: RequeueResult };
  move: { request: MoveRequest; result: Due };
  remove: { request: GroupRef; result: Due };
}

export type GroupAction = keyof GroupWrites;
export type GroupOp = { [A in GroupAction]: { readonly action: A; readonly request: GroupWrites[A]['request'] } }[GroupAction];
export type GroupOutcome = GroupWrites[GroupAction]['result'];
