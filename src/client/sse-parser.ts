/**
 * A parser of server-sent events (the `text/event-stream` format of the HTML standard): fed text as it arrives in
 * chunks of any size, it returns the messages completed so far. Comments (`: keep-alive`) are reported as activity
 * only; a message without data is not dispatched, as the standard says.
 */

export interface SseMessage {
  /** The `event:` field; `message` when absent. */
  event: string;
  /** The `data:` lines joined by newlines. */
  data: string;
  /** The `id:` field of this message, when it has one. */
  id?: string;
}

const LF = 0x0a;
/** An end of line: CRLF, CR or LF. */
const EOL = /\r\n|\r|\n/g;

export class SseParser {
  /** Pieces of the line not yet ended, kept apart so that a long line arriving in many chunks is copied once. */
  private partial: string[] = [];
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** A chunk that ended with `\r` may be the first half of `\r\n`. */
  private pendingCr = false;

  /** Parses a chunk; returns the messages it completed, in order. Each character is scanned once. */
  push(chunk: string): SseMessage[] {
    // Nothing to do, and a pending `\r` must stay pending (a streaming decoder yields '' for a split character).
    if (chunk.length === 0) return [];
    let start = this.pendingCr && chunk.charCodeAt(0) === LF ? 1 : 0;
    this.pendingCr = false;
    const messages: SseMessage[] = [];
    EOL.lastIndex = start;
    for (let match = EOL.exec(chunk); match !== null; match = EOL.exec(chunk)) {
      let line = chunk.slice(start, match.index);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = this.partial.join('');
        this.partial = [];
      }
      start = EOL.lastIndex;
      if (start === chunk.length && match[0] === '\r') this.pendingCr = true;
      const message = this.line(line);
      if (message !== undefined) messages.push(message);
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start));
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      default:
        // `retry` and unknown fields: nothing for us.
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const { event, data, id } = this;
    this.event = '';
    this.data = [];
    this.id = undefined;
    if (data.length === 0) return undefined;
    const message: SseMessage = { event: event === '' ? 'message' : event, data: data.join('\n') };
    if (id !== undefined) message.id = id;
    return message;
  }
}
