/**
 * RestMQ's routes about a queue rather than its messages: `/p/<queue>` (its live-delivery policy),
 * `/control/<queue>` (delivery to consumers stopped or started) and `/stats/` (length, status, policy).
 */
import type { Request, Response } from 'express';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { QUEUE_POLICIES, type QueuePolicy } from '../../../store/queues.js';
import type { AppContext } from '../../context.js';
import { readArgs } from './args.js';
import { openQueue, queueLength, type Queue } from './queue-ops.js';

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

/** `GET /p/<queue>` and `POST /p/<queue>` with `policy=broadcast|roundrobin`: `{"queue", "value"}`. */
export async function policyRoute(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const policy = req.method === 'POST' ? oneOf<QueuePolicy>(req, 'policy', QUEUE_POLICIES) : undefined;
  const { feed } = await openQueue(ctx, String(req.params.name));
  if (policy) await ctx.queues.setPolicy(feed.name, policy);
  noStore(res).json({ queue: feed.name, value: ctx.feeds.get(feed.name)?.delivery ?? feed.delivery });
}

/** `GET /control/<queue>` and `POST /control/<queue>` with `status=stop|start`: `{"queue", "status"}`. */
export async function controlRoute(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const wanted = req.method === 'POST' ? oneOf(req, 'status', STATUSES) : undefined;
  const { feed } = await openQueue(ctx, String(req.params.name));
  if (wanted) await ctx.queues.setStopped(feed.name, wanted === 'stop');
  noStore(res).json({ queue: feed.name, status: status(ctx, feed.name) });
}

async function stats(ctx: AppContext, queue: Queue): Promise<Record<string, unknown>> {
  const { name } = queue.feed;
  return { len: await queueLength(queue), status: status(ctx, name), policy: ctx.feeds.get(name)?.delivery ?? queue.feed.delivery };
}

/** `GET /stats/<queue>`: `{"queue", "len", "status", "policy"}`. */
export async function queueStats(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const queue = await openQueue(ctx, String(req.params.name));
  noStore(res).json({ queue: queue.feed.name, ...(await stats(ctx, queue)) });
}

/** `GET /stats/`: `{"queues": {<name>: {"name", "len", "status", "policy"}}, "count"}`. */
export async function allStats(ctx: AppContext, res: Response): Promise<void> {
  const queues: Record<string, unknown> = {};
  const names = ctx.feeds.list().map((f) => f.name).sort();
  for (const name of names) queues[name] = { name, ...(await stats(ctx, await openQueue(ctx, name))) };
  noStore(res).json({ queues, count: names.length });
}
