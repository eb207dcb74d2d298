/**
 * Escaping for the XML AtomMQ writes, in one place. A reader normalises what it parses: a literal CR
 * in text becomes LF, and a literal tab, LF or CR in an attribute value becomes a space. So those
 * characters are written as references, which readers keep as they are.
 */

const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIALS = new RegExp(TEXT_SPECIAL.source, 'g');
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r]/;
const ATTRIBUTE_SPECIALS = new RegExp(ATTRIBUTE_SPECIAL.source, 'g');
const REFERENCES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};
const reference = (c: string): string => REFERENCES[c] as string;

/** @example escapeText('a < b\r') // 'a &lt; b&#13;' */
export function escapeText(value: string): string {
  return TEXT_SPECIAL.test(value) ? value.replace(TEXT_SPECIALS, reference) : value;
}

/** For a value between double quotes. @example escapeAttribute('a\tb"') // 'a&#9;b&quot;' */
export function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value) ? value.replace(ATTRIBUTE_SPECIALS, reference) : value;
}
