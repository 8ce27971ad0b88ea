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

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** A chunk that ended with `\r` may be the first half of `\r\n`. */
  private pendingCr = false;

  /** Parses a chunk; returns the messages it completed, in order. */
  push(chunk: string): SseMessage[] {
    // Nothing to do, and a pending `\r` must stay pending (a streaming decoder yields '' for a split character).
    if (chunk.length === 0) return [];
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = text.endsWith('\r');
    this.buffer += text;
    const messages: SseMessage[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      const line = this.buffer.slice(0, end);
      const eolLength = this.buffer.startsWith('\r\n', end) ? 2 : 1;
      this.buffer = this.buffer.slice(end + eolLength);
      const message = this.line(line);
      if (message !== undefined) messages.push(message);
    }
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
