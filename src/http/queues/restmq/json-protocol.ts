/**
 * RestMQ's JSON protocol at `/queue`: a POST whose `body=` (or `msg=`) field holds one command,
 * `{"cmd": "add" | "get" | "take" | "del", "queue": …}`, and a GET that shows how to use it.
 */
import type { Request, Response } from 'express';
import type { Grant } from '../../../access/access-file.js';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import type { AppContext } from '../../context.js';
import { requireGrant } from '../../grant.js';
import { requestView } from '../../request-view.js';
import { parseJsonBody } from '../../body.js';
import { checkValue, readArgs, ttlSeconds } from './args.js';
import { addValue, checkKey, deleteMessage, findQueue, messageKey, openQueue, peekNext, takeNext } from './queue-ops.js';

type Command = Record<string, unknown>;

/**
 * One command: `check` refuses bad input before the queue is opened (which may create it), so a
 * refused command changes nothing; `run` answers. RestMQ answers an empty queue as `{"error": …}`,
 * with a 200.
 */
interface Cmd {
  /** What the command needs on its queue: `get`, which counts a delivery, is a consumer's as `take` is. */
  readonly grant: Grant;
  readonly check?: (command: Command) => void;
  readonly run: (ctx: AppContext, res: Response, name: string, command: Command) => Promise<Record<string, unknown>>;
}

const EMPTY = { error: 'empty queue' };
const STOPPED = { error: 'queue stopped' };

const COMMANDS: Record<string, Cmd> = {
  add: {
    grant: 'publish',
    check: (command) => {
      checkValue(command.value, 'field "value"');
      ttlSeconds(command.ttl);
    },
    run: async (ctx, _res, name, command) => {
      const value = command.value as string;
      const queue = await openQueue(ctx, name);
      const entry = await addValue(queue, value, ttlSeconds(command.ttl));
      return { queue: queue.feed.name, value, key: messageKey(queue.feed.name, entry.seq) };
    },
  },
  get: {
    grant: 'consume',
    run: async (ctx, _res, name) => {
      const queue = findQueue(ctx, name);
      const message = queue && await peekNext(ctx, queue);
      if (!message) return ctx.queues.stopped(name) ? STOPPED : EMPTY;
      return { queue: name, value: message.value, key: message.key, count: message.count };
    },
  },
  take: {
    grant: 'consume',
    run: async (ctx, res, name) => {
      const queue = findQueue(ctx, name);
      const message = queue && await takeNext(ctx, queue, res);
      if (!message) return ctx.queues.stopped(name) ? STOPPED : EMPTY;
      return { queue: name, value: message.value, key: message.key };
    },
  },
  del: {
    grant: 'admin',
    check: (command) => {
      if (typeof command.key !== 'string') throw new AtomMQError('INVALID_PARAMETER', 'field "key": del names the message by its key, "<queue>:<seq>"');
      checkKey(command.key, command.queue as string);
    },
    run: async (ctx, _res, name, command) => {
      const queue = findQueue(ctx, name);
      return { queue: name, key: command.key, deleted: queue ? await deleteMessage(queue, command.key as string) : false };
    },
  },
};

function readCommand(req: Request): Command {
  const args = readArgs(req);
  const text = args.get('body') ?? args.get('msg');
  if (text === undefined) throw new AtomMQError('INVALID_PARAMETER', 'the command is missing: send body={"cmd": …, "queue": …} (or msg=…)');
  const command = parseJsonBody(text);
  if (typeof command !== 'object' || command === null || Array.isArray(command)) {
    throw new AtomMQError('INVALID_JSON', 'the command must be a JSON object such as {"cmd": "take", "queue": "test"}');
  }
  return command as Command;
}

/** `POST /queue`: runs one command of the JSON protocol. */
export async function postCommand(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const command = readCommand(req);
  const cmd = typeof command.cmd === 'string' && Object.hasOwn(COMMANDS, command.cmd) ? COMMANDS[command.cmd] : undefined;
  if (!cmd) throw new AtomMQError('INVALID_PARAMETER', `field "cmd" ${quoted(command.cmd)}: one of ${Object.keys(COMMANDS).map((c) => `"${c}"`).join(', ')}`);
  if (typeof command.queue !== 'string') throw new AtomMQError('INVALID_PARAMETER', 'field "queue": the name of the queue, a string');
  await requireGrant(ctx, requestView(ctx, req), command.queue, cmd.grant);
  cmd.check?.(command);
  const answer = await cmd.run(ctx, res, command.queue, command);
  res.set('Cache-Control', 'no-store').json(answer);
}

const HELP = `RestMQ's JSON protocol: POST /queue with one form field, body=<command> (or msg=<command>).

  {"cmd": "add",  "queue": "test", "value": "foobar"}   adds a message (optional "ttl": seconds)
                  -> {"queue", "value", "key"}
  {"cmd": "get",  "queue": "test"}                      shows the next message, which stays; its count grows
                  -> {"queue", "value", "key", "count"}
  {"cmd": "take", "queue": "test"}                      takes the next message out of the queue
                  -> {"queue", "value", "key"}
  {"cmd": "del",  "queue": "test", "key": "test:42"}    deletes a message
                  -> {"queue", "key", "deleted"}

An empty queue answers {"error": "empty queue"}, a stopped one {"error": "queue stopped"}.
Example: curl -d 'body={"cmd": "take", "queue": "test"}' http://localhost:8080/queue
`;

/** `GET /queue`: the help page. */
export function getHelp(res: Response): void {
  res.type('text/plain').send(HELP);
}
