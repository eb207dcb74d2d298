/**
 * RestMQ's REST routes for messages: `POST /` and `POST /q/<queue>` add, `GET /q/<queue>` and
 * `GET /?queue=` take, `GET /q/` lists the queues, `DELETE /q/<queue>` empties one.
 */
import type { Request, Response } from 'express';
import { AtomMQError } from '../../../errors/index.js';
import type { AppContext } from '../../context.js';
import { readableFeeds, requireGrant } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { readArgs, ttlSeconds, valueArg, type Args } from './args.js';
import { addValue, findQueue, messageKey, openQueue, purgeQueue, takeNext, type Queue } from './queue-ops.js';

/** A take changes the queue: HEAD, which must not, is refused rather than served as a GET. */
function refuseHead(req: Request): void {
  if (req.method === 'HEAD') {
    throw new AtomMQError('METHOD_NOT_ALLOWED', `HEAD is not allowed on ${req.path}: a GET here takes a message out of the queue`, { headers: { Allow: 'GET' } });
  }
}

async function add(ctx: AppContext, res: Response, name: string, args: Args): Promise<void> {
  // Checked before the queue is opened, which may create it: a refused add changes nothing.
  const value = valueArg(args);
  const ttl = ttlSeconds(args.get('ttl'));
  const queue = await openQueue(ctx, name);
  const entry = await addValue(queue, value, ttl);
  res.set({ Xlastid: String(entry.seq), 'Cache-Control': 'no-store' }).type('text/plain').send(messageKey(queue.feed.name, entry.seq));
}

/** Answers the next message as `{"key","value","count"}`; false when there is none. */
async function answerTake(ctx: AppContext, res: Response, queue: Queue | undefined): Promise<boolean> {
  const message = queue && await takeNext(ctx, queue, res);
  if (!message) return false;
  res.set('Cache-Control', 'no-store').json(message);
  return true;
}

/** `POST /` with `queue=Q&value=V` (or `msg=`). */
export async function postIndex(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const args = readArgs(req);
  const name = args.get('queue');
  if (name === undefined) throw new AtomMQError('INVALID_PARAMETER', 'the queue is missing: send queue=…&value=…');
  // The queue is named in the body, so it is checked once the body is read: still before anything is stored.
  await requireGrant(ctx, requestView(ctx, req), name, 'publish');
  await add(ctx, res, name, args);
}

/** `GET /?queue=Q`: takes the next message; 404 when the queue is empty. */
export async function getIndex(ctx: AppContext, req: Request, res: Response, name: string): Promise<void> {
  refuseHead(req);
  if (!(await answerTake(ctx, res, findQueue(ctx, name)))) throw new AtomMQError('QUEUE_EMPTY', `queue "${name}" has no message to take`);
}

/** `POST /q/<queue>` with `value=V` (or `msg=`). */
export async function postQueue(ctx: AppContext, req: Request, res: Response): Promise<void> {
  await add(ctx, res, String(req.params.name), readArgs(req));
}

/** `GET /q/<queue>`: takes the next message; 204 when the queue is empty. */
export async function getQueue(ctx: AppContext, req: Request, res: Response): Promise<void> {
  refuseHead(req);
  if (!(await answerTake(ctx, res, findQueue(ctx, String(req.params.name))))) res.status(204).end();
}

/** `DELETE /q/<queue>`: empties the queue for its consumers and ends its live streams. */
export async function deleteQueue(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const name = String(req.params.name);
  const queue = findQueue(ctx, name);
  if (queue) await purgeQueue(ctx, queue);
  res.set('Cache-Control', 'no-store').json({ queue: name, purged: true });
}

/** `GET /q/`: every queue, which is every feed, that the caller may read. */
export async function listQueues(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const feeds = await readableFeeds(ctx, requestView(ctx, req));
  res.set('Cache-Control', 'no-store').json({ queues: feeds.map((f) => f.name).sort() });
}
