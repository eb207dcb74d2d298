/**
 * RestMQ's routes about a queue rather than its messages: `/p/<queue>` (its live-delivery policy),
 * `/control/<queue>` (delivery to consumers stopped or started) and `/stats/` (length, status, policy).
 */
import type { Request, Response } from 'express';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { QUEUE_POLICIES, type QueuePolicy } from '../../../store/queues.js';
import type { AppContext } from '../../context.js';
import { readableFeeds } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { readArgs } from './args.js';
import { findQueue, openQueue, queueLength } from './queue-ops.js';

const STATUSES = ['start', 'stop'] as const;

function noStore(res: Response): Response {
  return res.set('Cache-Control', 'no-store');
}

/** A name RestMQ reads from the request, which must be one of `allowed`. */
function oneOf<T extends string>(req: Request, name: string, allowed: readonly T[]): T {
  const value = readArgs(req).get(name);
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw new AtomMQError('INVALID_PARAMETER', `${name} ${value === undefined ? 'is missing' : quoted(value)}: send ${name}=${allowed.join(' or ')}`);
  }
  return value as T;
}

function status(ctx: AppContext, name: string): (typeof STATUSES)[number] {
  return ctx.queues.stopped(name) ? 'stop' : 'start';
}

/** A queue that does not exist yet has the defaults of one created now. */
function policy(ctx: AppContext, name: string): QueuePolicy {
  return ctx.feeds.get(name)?.delivery ?? 'broadcast';
}

/** The queue a POST names (created on first use), or the one a GET looks at (undefined: not created yet). */
async function named(ctx: AppContext, req: Request, changing: boolean): Promise<string> {
  const name = String(req.params.name);
  if (changing) await openQueue(ctx, name);
  else findQueue(ctx, name);
  return name;
}

/** `GET /p/<queue>` and `POST /p/<queue>` with `policy=broadcast|roundrobin`: `{"queue", "value"}`. */
export async function policyRoute(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const wanted = req.method === 'POST' ? oneOf<QueuePolicy>(req, 'policy', QUEUE_POLICIES) : undefined;
  const name = await named(ctx, req, wanted !== undefined);
  if (wanted) await ctx.queues.setPolicy(name, wanted);
  noStore(res).json({ queue: name, value: policy(ctx, name) });
}

/** `GET /control/<queue>` and `POST /control/<queue>` with `status=stop|start`: `{"queue", "status"}`. */
export async function controlRoute(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const wanted = req.method === 'POST' ? oneOf(req, 'status', STATUSES) : undefined;
  const name = await named(ctx, req, wanted !== undefined);
  if (wanted) await ctx.queues.setStopped(name, wanted === 'stop');
  noStore(res).json({ queue: name, status: status(ctx, name) });
}

async function stats(ctx: AppContext, name: string): Promise<Record<string, unknown>> {
  const queue = findQueue(ctx, name);
  return { len: queue ? await queueLength(queue) : 0, status: status(ctx, name), policy: policy(ctx, name) };
}

/** `GET /stats/<queue>`: `{"queue", "len", "status", "policy"}`. */
export async function queueStats(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const name = String(req.params.name);
  noStore(res).json({ queue: name, ...(await stats(ctx, name)) });
}

/** `GET /stats/`: `{"queues": {<name>: {"name", "len", "status", "policy"}}, "count"}`, of the queues the caller may read. */
export async function allStats(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const queues: Record<string, unknown> = {};
  const names = (await readableFeeds(ctx, requestView(ctx, req))).map((f) => f.name).sort();
  for (const name of names) queues[name] = { name, ...(await stats(ctx, name)) };
  noStore(res).json({ queues, count: names.length });
}
