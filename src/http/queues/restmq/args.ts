/**
 * RestMQ's request arguments: like its handlers' `get_argument`, a name may come in the query
 * string or in a form body (what `curl -d` sends). Names RestMQ does not read (its JSONP
 * `callback`, say) are ignored, as RestMQ ignores them; a name given twice is refused.
 */
import type { Request } from 'express';
import { isXmlText } from '../../../atom/xml-markup.js';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { bodyText, mediaType } from '../../body.js';
import { wholeNumber } from '../group-request.js';

const FORM = 'application/x-www-form-urlencoded';

export type Args = ReadonlyMap<string, string>;

function add(args: Map<string, string>, name: string, value: string): void {
  if (args.has(name)) throw new AtomMQError('INVALID_PARAMETER', `argument ${quoted(name)} is given more than once`);
  args.set(name, value);
}

/** The query's arguments and the form body's, as one map. A body of another type is refused. */
export function readArgs(req: Request): Args {
  const args = new Map<string, string>();
  const search = req.originalUrl.indexOf('?');
  if (search >= 0) for (const [name, value] of new URLSearchParams(req.originalUrl.slice(search + 1))) add(args, name, value);
  const bytes: unknown = req.body;
  if (Buffer.isBuffer(bytes) && bytes.length > 0) {
    const { type } = mediaType(req);
    if (type !== FORM) {
      throw new AtomMQError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${quoted(type ?? 'none')} is not accepted here; send form fields (${FORM}), as curl -d does`);
    }
    for (const [name, value] of new URLSearchParams(bodyText(bytes))) add(args, name, value);
  }
  return args;
}

/** A message's value: text XML can carry (it becomes the entry's content). */
export function checkValue(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new AtomMQError('INVALID_PARAMETER', `${name} ${quoted(value)}: the message is a string`);
  if (!isXmlText(value)) throw new AtomMQError('INVALID_PARAMETER', `${name} contains a control character or half of a surrogate pair, which a message cannot carry`);
  return value;
}

/** `value=` or `msg=` (RestMQ takes either): the message to add. */
export function valueArg(args: Args): string {
  const value = args.get('value') ?? args.get('msg');
  if (value === undefined) throw new AtomMQError('INVALID_PARAMETER', 'the message is missing: send value=… (or msg=…)');
  return checkValue(value, args.has('value') ? 'value' : 'msg');
}

/** A year, as the longest delay or expiry a POST to a feed may ask for. */
const MAX_TTL = 365 * 24 * 3600;

/** RestMQ's `ttl`: seconds after which the message is no longer handed out; undefined when absent. */
export function ttlSeconds(value: unknown): number | undefined {
  return wholeNumber(value, 'ttl', 1, MAX_TTL, ' of seconds');
}
