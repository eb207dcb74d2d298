/**
 * A reader of `text/event-stream` (the WHATWG "server-sent events" format): bytes in, events out.
 */

/** One dispatched event. Comments (heartbeats) are not events. */
export interface SseEvent {
  /** `message` unless the stream named it with `event:`. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen on the stream so far (it carries over to later events, as the spec says). */
  readonly id: string | undefined;
  /** A reconnection delay the server asked for with `retry:`, in ms. */
  readonly retry: number | undefined;
}

/**
 * Parses an event stream as it arrives. Lines end with CRLF, LF or CR; `data:` lines accumulate;
 * a blank line dispatches; lines starting with `:` are comments (the server's keep-alive heartbeats).
 *
 * @example for await (const event of readEvents(response.body)) console.log(event.id, event.data);
 */
export async function* readEvents(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let first = true;
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let retry: number | undefined;
  let pendingCR = false;

  for await (const chunk of chunks) {
    let text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (pendingCR && text.startsWith('\n')) text = text.slice(1);
    pendingCR = false;
    buffer += text;
    let start = 0;
    for (;;) {
      let end = -1;
      let next = -1;
      for (let i = start; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c === 10) { end = i; next = i + 1; break; }
        if (c === 13) {
          end = i;
          if (i + 1 < buffer.length) next = buffer.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
          else { next = i + 1; pendingCR = true; }
          break;
        }
      }
      if (end < 0) break;
      const line = buffer.slice(start, end);
      start = next;
      if (line === '') {
        if (data.length > 0) {
          yield { event: event || 'message', data: data.join('\n'), id, retry };
        }
        data = [];
        event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      switch (field) {
        case 'data': data.push(value); break;
        case 'event': event = value; break;
        case 'id': if (!value.includes('\0')) id = value; break;
        case 'retry': if (/^\d+$/.test(value)) retry = Number(value); break;
        default: break;
      }
    }
    buffer = buffer.slice(start);
  }
  // The spec drops an event that is not terminated by a blank line before the stream ends.
}
