import { AtomMQError } from '../errors/index.js';

/** Characters XML 1.0 forbids anywhere in a document. */
export const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Says where something is in the text the client sent: by line and column, or by index. */
export interface Locator {
  at(line: number, column: number): string;
  index(index: number): string;
}

const BAD_REFERENCE = /&(?!(?:amp|lt|gt|quot|apos);|#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};)/;
const NUMERIC_REFERENCE = /&#(x[0-9a-fA-F]+|[0-9]+);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** A processing instruction whose target is `xml` in any case: only the declaration, at the very start, may be one. */
const RESERVED_PI = /<\?xml(?=[\s?])/gi;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 || code === 0xa || code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** The character a reference's name stands for (`amp`, `#65`, `#x41`), or undefined for anything else. */
function referenced(name: string): string | undefined {
  if (name.charCodeAt(0) !== 0x23) return NAMED[name];
  const code = name.charCodeAt(1) === 0x78 ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
  return Number.isNaN(code) ? undefined : String.fromCodePoint(code);
}

/**
 * Replaces the five entities and numeric references by their characters (checkMarkup has refused
 * any other "&"). A loop of slices, which stays linear on long texts where a replace callback per
 * reference did not.
 */
export function decodeReferences(value: string): string {
  let at = value.indexOf('&');
  if (at < 0) return value;
  const parts: string[] = [];
  let from = 0;
  for (; at >= 0; at = value.indexOf('&', at + 1)) {
    const end = value.indexOf(';', at);
    const character = end < 0 ? undefined : referenced(value.slice(at + 1, end));
    if (character === undefined) continue;
    parts.push(value.slice(from, at), character);
    from = end + 1;
  }
  parts.push(value.slice(from));
  return parts.join('');
}

/**
 * The text with comments and CDATA sections blanked out (newlines kept, so positions stay), where
 * references are literal. One pass: each opener is matched with the first terminator after it, and
 * an opener without one ends the scan, since no later opener can have one either.
 */
function blankCommentsAndCdata(text: string): string {
  const opener = /<!--|<!\[CDATA\[/g;
  let out = '';
  let from = 0;
  for (let m = opener.exec(text); m !== null; m = opener.exec(text)) {
    const end = text.indexOf(m[0] === '<!--' ? '-->' : ']]>', m.index + m[0].length);
    if (end < 0) break;
    out += text.slice(from, m.index) + text.slice(m.index, end + 3).replace(/[^\n]/g, ' ');
    from = end + 3;
    opener.lastIndex = from;
  }
  return out + text.slice(from);
}

/**
 * fast-xml-parser is lenient where XML is strict: it passes undefined entities, references to
 * characters XML forbids and misplaced declarations through. Those would come back out as different
 * text or as a document no reader accepts, so they are refused here, before parsing.
 */
export function checkMarkup(text: string, locate: Locator): void {
  const blanked = blankCommentsAndCdata(text);
  // Comments and CDATA are blanked and DOCTYPE is refused earlier: any other "<!" is not XML.
  const bogus = blanked.indexOf('<!');
  if (bogus >= 0) throw new AtomMQError('INVALID_XML', `"<!" starts neither a comment nor a CDATA section, at ${locate.index(bogus)}`);
  for (const pi of blanked.matchAll(RESERVED_PI)) {
    if (pi.index !== 0) throw new AtomMQError('INVALID_XML', `"${pi[0]}" is allowed only as the XML declaration, at the very start, not at ${locate.index(pi.index)}`);
  }
  const bad = BAD_REFERENCE.exec(blanked);
  if (bad) {
    throw new AtomMQError('INVALID_XML', `undefined entity or stray "&" at ${locate.index(bad.index)}`);
  }
  for (const match of blanked.matchAll(NUMERIC_REFERENCE)) {
    const digits = match[1] ?? '';
    const code = digits.startsWith('x') ? parseInt(digits.slice(1), 16) : parseInt(digits, 10);
    if (!isXmlChar(code)) {
      throw new AtomMQError('INVALID_XML', `character reference ${match[0]} names a character XML forbids, at ${locate.index(match.index)}`);
    }
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string can be written as XML characters: none XML forbids, and no half of a surrogate pair. */
export function isXmlText(value: string): boolean {
  return !FORBIDDEN_CHAR.test(value) && !LONE_SURROGATE.test(value);
}
