/** The syntaxes of values Atom carries in text and attributes: date-times and media types. */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/i;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/**
 * An RFC 3339 date-time (RFC 4287 3.3) that names a real instant: a calendar date, hours 0-23,
 * minutes 0-59, seconds 0-60 (a leap second), an offset of at most 23:59.
 *
 * @example isDateTime('2024-02-29T23:59:60Z') // true
 * @example isDateTime('2023-02-29T00:00:00Z') // false
 */
export function isDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHour = 0, offsetMinute = 0] = m.slice(1).map((part) => Number(part ?? 0));
  return month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysIn(year!, month!) &&
    hour! <= 23 && minute! <= 59 && second! <= 60 && offsetHour <= 23 && offsetMinute <= 59;
}

/** RFC 6838 4.2 restricted-name, for a type, a subtype and a parameter name. */
const NAME = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
/** RFC 9110 token and quoted-string, for a parameter value. */
const VALUE = `(?:[!#$%&'*+.^_\`|~0-9A-Za-z-]+|"(?:[\\t !#-\\[\\]-~\\x80-\\xFF]|\\\\[\\t -~\\x80-\\xFF])*")`;
const MEDIA_TYPE = new RegExp(`^(${NAME})/${NAME}(?:[ \\t]*;[ \\t]*${NAME}=${VALUE})*$`);

/**
 * A MIME media type as atom:content's and atom:link's `type` may hold (RFC 4287 4.1.3.1, 4.2.7.3):
 * `type/subtype` with optional parameters, not a composite type (multipart or message).
 *
 * @example isMediaType('text/plain; charset=utf-8') // true
 * @example isMediaType('text/html" onload="x') // false
 */
export function isMediaType(value: string): boolean {
  const top = MEDIA_TYPE.exec(value)?.[1]?.toLowerCase();
  return top !== undefined && top !== 'multipart' && top !== 'message';
}

/** A JSON media type: application/json or any `+json` type (RFC 6839). */
export function isJsonMediaType(type: string): boolean {
  return /^[^/;]+\/(?:[^;]*\+)?json\s*(?:;|$)/i.test(type);
}

/** An XML media type (RFC 7303): text/xml, application/xml or any `+xml` type, whose content is markup. */
export function isXmlMediaType(type: string): boolean {
  return /^(?:(?:text|application)\/xml|[^/;]+\/[^;]*\+xml)\s*(?:;|$)/i.test(type);
}
