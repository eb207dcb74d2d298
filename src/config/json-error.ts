const WHITESPACE = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const SCALAR = new RegExp(`${STRING.source}|-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|true|false|null`, 'y');

/**
 * The offset of the first character at which `text` stops being JSON (RFC 8259), or undefined when
 * it is valid. Iterative, so that deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const closers: string[] = [];
  const skip = (): void => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
  };
  const token = (pattern: RegExp): boolean => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) return false;
    i = pattern.lastIndex;
    return true;
  };
  const memberName = (): boolean => {
    skip();
    if (!token(STRING)) return false;
    skip();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  for (;;) {
    skip();
    const open = text[i];
    if (open === '{' || open === '[') {
      i++;
      skip();
      const closer = open === '{' ? '}' : ']';
      if (text[i] === closer) i++;
      else {
        closers.push(closer);
        if (open === '{' && !memberName()) return i;
        continue;
      }
    } else if (!token(SCALAR)) return i;
    for (;;) {
      skip();
      const closer = closers.at(-1);
      if (closer === undefined) return i < text.length ? i : undefined;
      if (text[i] === closer) {
        closers.pop();
        i++;
      } else if (text[i] === ',') {
        i++;
        if (closer === '}' && !memberName()) return i;
        break;
      } else return i;
    }
  }
}

/**
 * Why `text` is not JSON, by line and column only. JSON.parse's own message quotes the text around
 * the error, and a file's text is not for logs (a link to a secret, a key pasted in by mistake).
 *
 * @example describeJsonError('{"a": 1,}') // 'not valid JSON at line 1, column 9'
 */
export function describeJsonError(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return 'not valid JSON';
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `not valid JSON at line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}
