/**
 * A group's state and settings: `GET /feeds/<feed>/groups`, and `GET`, `PUT` (declare, update,
 * move) and `DELETE` of `/feeds/<feed>/groups/<group>`.
 */
import type { Request, Response } from 'express';
import { AtomMQError } from '../../errors/index.js';
import { checkMove } from '../../store/group-input.js';
import type { GroupSettings, GroupStatus, MoveRequest } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import type { AppContext } from '../context.js';
import { feedRequest, groupRequest, readGroupBody } from './group-request.js';

/** The status as the API shows it: settings flattened, ages in seconds. */
export function statusJson(status: GroupStatus): Record<string, unknown> {
  return {
    feed: status.feed,
    group: status.group,
    leaseSeconds: status.settings.leaseSeconds,
    maxDeliveries: status.settings.maxDeliveries,
    start: status.settings.start,
    position: status.position,
    ackFloor: status.ackFloor,
    pending: status.pending,
    waiting: status.waiting,
    lag: status.lag,
    dead: status.dead,
    expired: status.expired,
    oldestUnackedSeconds: status.oldestUnackedMs === undefined ? null : status.oldestUnackedMs / 1000,
  };
}

function noStore(res: Response): Response {
  return res.set('Cache-Control', 'no-store');
}

export async function listGroups(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { feed, store } = feedRequest(ctx, req);
  const groups = await store.groups.list(feed.name);
  noStore(res).json({ feed: feed.name, groups: groups.map(statusJson) });
}

export async function getGroup(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { store, ref } = groupRequest(ctx, req);
  noStore(res).json(statusJson(await store.groups.status(ref)));
}

const SETTINGS = ['leaseSeconds', 'maxDeliveries', 'start'] as const;

/**
 * Declares the group (201 when this created it) or updates its lease and maxDeliveries, then moves
 * it when the body names a position. A new group starts from the feed file's declaration, if any,
 * with the body's settings over it; `start` only matters when the group is created.
 */
export async function putGroup(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { feed, store, ref } = groupRequest(ctx, req);
  const body = readGroupBody(req, [...SETTINGS, 'position']);
  const given = Object.fromEntries(SETTINGS.filter((s) => body[s] !== undefined).map((s) => [s, body[s]])) as Partial<GroupSettings>;
  const move = body.position === undefined ? undefined : { ...ref, position: body.position as MoveRequest['position'] };
  // Checked before anything is written: a refused move must not leave a group created behind it.
  if (move) await checkPosition(store, move);
  const existed = await store.groups.status(ref).then(() => true, (error: unknown) => {
    if (error instanceof AtomMQError && error.code === 'GROUP_NOT_FOUND') return false;
    throw error;
  });
  let status = await store.groups.declare(ref, existed ? given : { ...feed.groups[ref.group], ...given });
  if (move) status = await store.groups.move(move);
  noStore(res).status(existed ? 200 : 201).json(statusJson(status));
}

async function checkPosition(store: Store, move: MoveRequest): Promise<void> {
  checkMove(move);
  const { newestSeq } = await store.bounds(move.feed);
  if (typeof move.position === 'number' && move.position > newestSeq) {
    throw new AtomMQError('INVALID_PARAMETER', `position ${move.position} is beyond the newest seq of feed "${move.feed}", ${newestSeq}`);
  }
}

export async function deleteGroup(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { store, ref } = groupRequest(ctx, req);
  await store.groups.remove(ref);
  res.status(204).end();
}
