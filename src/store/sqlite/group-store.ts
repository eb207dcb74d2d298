import type Database from 'better-sqlite3';
import {
  checkClaim, checkExtend, checkMove, checkNack, checkPage, checkReceipts, checkRef, checkRequeue, checkSettings,
} from '../group-input.js';
import type {
  ClaimRequest, ClaimResult, DeadMessage, ExtendRequest, GroupChange, GroupRef, GroupSettings, GroupStatus, GroupStore,
  MoveRequest, NackRequest, NextDue, ReceiptRequest, ReceiptsResult, RequeueRequest, RequeueResult,
} from '../groups.js';
import type { Representation } from '../store.js';
import { GroupReads } from './group-reads.js';
import type { GroupAction, GroupOp, GroupOutcome, GroupWrites } from './group-writer.js';

/** Sends one group write to the writer thread; resolves once it is committed as durably as an append. */
export type CommitGroupWrite = (op: GroupOp) => Promise<GroupOutcome>;

/**
 * The SQLite store's consumer groups: inputs are checked here, writes go to the writer thread
 * (see group-writer.ts), reads run on the store's reading connection.
 */
export class SqliteGroups implements GroupStore {
  private readonly reads: GroupReads;
  private readonly listeners: Array<(change: GroupChange) => void> = [];

  constructor(db: Database.Database, private readonly commit: CommitGroupWrite) {
    this.reads = new GroupReads(db);
  }

  async declare(ref: GroupRef, settings: Partial<GroupSettings>): Promise<GroupStatus> {
    checkRef(ref);
    checkSettings(settings);
    await this.write('declare', { feed: ref.feed, group: ref.group, settings });
    return this.reads.status(ref);
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
    return this.reads.status(request);
  }

  async remove(ref: GroupRef): Promise<void> {
    checkRef(ref);
    await this.write('remove', ref);
  }

  async status(ref: GroupRef): Promise<GroupStatus> {
    checkRef(ref);
    return this.reads.status(ref);
  }

  async list(feed: string): Promise<GroupStatus[]> {
    return this.reads.list(feed);
  }

  async readDead(ref: GroupRef, after: number, limit: number, only?: Representation): Promise<DeadMessage[]> {
    checkRef(ref);
    checkPage(after, limit);
    return this.reads.readDead(ref, after, limit, only);
  }

  async nextDue(ref: GroupRef): Promise<NextDue> {
    checkRef(ref);
    return this.reads.nextDue(this.reads.existing(ref), Date.now());
  }

  onChange(listener: (change: GroupChange) => void): void {
    this.listeners.push(listener);
  }

  /** Commits one write, then tells the listeners when the group is next due. */
  private async write<A extends GroupAction>(action: A, request: GroupWrites[A]['request']): Promise<GroupWrites[A]['result']> {
    // The writer answers each action with that action's result type.
    const result = await this.commit({ action, request } as GroupOp) as GroupWrites[A]['result'];
    const change: GroupChange = { feed: request.feed, group: request.group, nextDue: result.nextDue };
    for (const listener of this.listeners) listener(change);
    return result;
  }
}
