import {
  checkClaim, checkExtend, checkMove, checkNack, checkPage, checkReceipts, checkRef, checkRequeue, checkSettings,
} from './group-input.js';
import type { GroupAction, GroupOp, GroupOutcome, GroupWrites } from './group-ops.js';
import type {
  ClaimRequest, ClaimResult, DeadMessage, ExtendRequest, GroupChange, GroupRef, GroupSettings, GroupStatus, GroupStore,
  MoveRequest, NackRequest, NextDue, ReceiptRequest, ReceiptsResult, RequeueRequest, RequeueResult,
} from './groups.js';
import type { Representation } from './store.js';

/** What a store does for its consumer groups: commit one write as durably as an append, and read. */
export interface GroupBackend {
  commit(op: GroupOp): Promise<GroupOutcome>;
  status(ref: GroupRef): Promise<GroupStatus>;
  list(feed: string): Promise<GroupStatus[]>;
  readDead(ref: GroupRef, after: number, limit: number, only: Representation | undefined): Promise<DeadMessage[]>;
  nextDue(ref: GroupRef): Promise<NextDue>;
}

/**
 * A store's consumer groups as callers see them, whatever the store: inputs are checked here, before
 * anything reaches the database, and every committed write is told to the listeners.
 */
export class CheckedGroups implements GroupStore {
  private readonly listeners: Array<(change: GroupChange) => void> = [];

  constructor(private readonly backend: GroupBackend) {}

  async declare(ref: GroupRef, settings: Partial<GroupSettings>): Promise<GroupStatus> {
    checkRef(ref);
    checkSettings(settings);
    await this.write('declare', { feed: ref.feed, group: ref.group, settings });
    return this.backend.status(ref);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    checkClaim(request);
    return this.write('claim', request);
  }

  async ack(request: ReceiptRequest): Promise<ReceiptsResult> {
    checkReceipts(request);
    return this.write('ack', request);
  }

  async nack(request: NackRequest): Promise<ReceiptsResult> {
    checkNack(request);
    return this.write('nack', request);
  }

  async extend(request: ExtendRequest): Promise<ReceiptsResult> {
    checkExtend(request);
    return this.write('extend', request);
  }

  async requeue(request: RequeueRequest): Promise<RequeueResult> {
    checkRequeue(request);
    return this.write('requeue', request);
  }

  async move(request: MoveRequest): Promise<GroupStatus> {
    checkMove(request);
    await this.write('move', request);
    return this.backend.status(request);
  }

  async remove(ref: GroupRef): Promise<void> {
    checkRef(ref);
    await this.write('remove', ref);
  }

  async status(ref: GroupRef): Promise<GroupStatus> {
    checkRef(ref);
    return this.backend.status(ref);
  }

  async list(feed: string): Promise<GroupStatus[]> {
    return this.backend.list(feed);
  }

  async readDead(ref: GroupRef, after: number, limit: number, only?: Representation): Promise<DeadMessage[]> {
    checkRef(ref);
    checkPage(after, limit);
    return this.backend.readDead(ref, after, limit, only);
  }

  async nextDue(ref: GroupRef): Promise<NextDue> {
    checkRef(ref);
    return this.backend.nextDue(ref);
  }

  onChange(listener: (change: GroupChange) => void): void {
    this.listeners.push(listener);
  }

  /** Tells the listeners of a change to a group: one committed here, or by another server on the same database. */
  tell(change: GroupChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Commits one write, then tells the listeners when the group is next due. */
  private async write<A extends GroupAction>(action: A, request: GroupWrites[A]['request']): Promise<GroupWrites[A]['result']> {
    // The writer answers each action with that action's result type.
    const result = await this.backend.commit({ action, request } as GroupOp) as GroupWrites[A]['result'];
    this.tell({ feed: request.feed, group: request.group, nextDue: result.nextDue });
    return result;
  }
}
