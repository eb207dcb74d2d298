/**
 * When a published message may first be handed out by consumer groups, and when they stop handing
 * it out: the `AtomMQ-Deliver-After` and `AtomMQ-Expires` headers (delta seconds, or an HTTP-date
 * as RFC 9110 5.6.7 defines it), or `deliverAfter` and `expires` in a JSON body (seconds from now,
 * or an RFC 3339 date-time). Cursor readers are not affected: they see every entry at once.
 */
import { storedFields } from '../../atom/finish-entry.js';
import { isDateTime } from '../../atom/values.js';
import { AtomMQError, type ErrorCode } from '../../errors/index.js';
import { quoted } from '../../errors/quote.js';
import type { RequestView } from '../request-view.js';
import type { StoredEntry } from '../../store/store.js';

/** The JSON members a POST takes out of the entry it reads (see readEntryWith). */
export const SCHEDULE_FIELDS = ['deliverAfter', 'expires'] as const;
export type ScheduleFields = Partial<Record<(typeof SCHEDULE_FIELDS)[number], unknown>>;

/** Epoch ms; undefined: at once, and never. */
export interface Schedule {
  readonly deliverAfter?: number | undefined;
  readonly expires?: number | undefined;
}

/** How far ahead a time may be: a year, so that a typo in a date is refused rather than kept forever. */
const MAX_AHEAD_SECONDS = 365 * 24 * 3600;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** RFC 9110 5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept. */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

interface Source {
  /** Names the value in a refusal: `AtomMQ-Expires header`, `field "expires"`. */
  readonly name: string;
  readonly code: ErrorCode;
}

/**
 * The delivery times a POST asks for, from its headers or the members its JSON body had. Either
 * may be given once: in a header or in the body, not both.
 */
export function readSchedule(req: RequestView, fields: ScheduleFields, now: number): Schedule {
  const deliverAfter = scheduleTime(req, fields, 'deliverAfter', 'AtomMQ-Deliver-After', now);
  const expires = scheduleTime(req, fields, 'expires', 'AtomMQ-Expires', now);
  if (deliverAfter !== undefined && expires !== undefined && expires <= deliverAfter) {
    throw new AtomMQError('INVALID_PARAMETER', 'the message would expire before it may be delivered: expires must be later than deliverAfter');
  }
  return { deliverAfter, expires };
}

function scheduleTime(req: RequestView, fields: ScheduleFields, field: keyof ScheduleFields, header: string, now: number): number | undefined {
  const headerValue = req.header(header);
  const fieldValue = fields[field];
  if (headerValue !== undefined && fieldValue !== undefined) {
    throw new AtomMQError('INVALID_PARAMETER', `the ${header} header and the field "${field}" both say when; give one of them`);
  }
  if (headerValue !== undefined) return fromHeader(headerValue.trim(), { name: `${header} header`, code: 'INVALID_HEADER' }, now);
  if (fieldValue !== undefined) return fromField(fieldValue, { name: `field "${field}"`, code: 'INVALID_JSON' }, now);
  return undefined;
}

function fromHeader(text: string, source: Source, now: number): number {
  if (/^\d{1,16}$/.test(text)) return ahead(Number(text), source, now);
  const asctime = ASCTIME_DATE.test(text);
  if (!IMF_FIXDATE.test(text) && !RFC850_DATE.test(text) && !asctime) {
    refuse(source, text, 'delta seconds or an HTTP-date such as "Sun, 06 Nov 1994 08:49:37 GMT"');
  }
  // asctime carries no zone; HTTP-dates are always GMT.
  return date(Date.parse(asctime ? `${text} GMT` : text), source, text, now);
}

function fromField(value: unknown, source: Source, now: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return ahead(value, source, now);
  if (typeof value === 'string' && isDateTime(value)) return date(Date.parse(value), source, value, now);
  return refuse(source, value, 'a number of seconds from now (0 or more), or an RFC 3339 date-time');
}

function ahead(seconds: number, source: Source, now: number): number {
  if (seconds > MAX_AHEAD_SECONDS) refuse(source, seconds, `at most ${MAX_AHEAD_SECONDS} seconds (a year) from now`);
  return now + Math.round(seconds * 1000);
}

function date(ms: number, source: Source, text: string, now: number): number {
  if (Number.isNaN(ms)) refuse(source, text, 'a valid date and time');
  if (ms > now + MAX_AHEAD_SECONDS * 1000) refuse(source, text, 'at most a year from now');
  return ms;
}

function refuse(source: Source, value: unknown, rule: string): never {
  throw new AtomMQError(source.code, `${source.name} ${quoted(value)}: ${rule}`);
}

/** The times as the stored entry shows them (RFC 3339), for cursor readers. */
export function scheduleStamp(schedule: Schedule): { deliverAfter?: string; expires?: string } {
  return {
    ...(schedule.deliverAfter === undefined ? {} : { deliverAfter: new Date(schedule.deliverAfter).toISOString() }),
    ...(schedule.expires === undefined ? {} : { expires: new Date(schedule.expires).toISOString() }),
  };
}

/** The schedule an entry was stored with, as its JSON form records it (render-entry.ts). */
export function storedSchedule(entry: Pick<StoredEntry, 'json'>): Schedule {
  const { deliverAfter, expires } = storedFields<{ deliverAfter?: string; expires?: string }>(entry.json);
  return { deliverAfter: deliverAfter === undefined ? undefined : Date.parse(deliverAfter), expires: expires === undefined ? undefined : Date.parse(expires) };
}
