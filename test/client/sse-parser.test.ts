/** The SSE parser: messages come out the same however the text is cut into chunks, with any line ending. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SseParser, type SseMessage } from '../../src/client/sse-parser.ts';

function parseInChunks(text: string, cuts: number[]): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < text.length)].sort((a, b) => a - b)) {
    out.push(...parser.push(text.slice(at, cut)));
    at = cut;
  }
  out.push(...parser.push(text.slice(at)));
  return out;
}

describe('SseParser', () => {
  it('reads ids, event names, multi-line data; skips comments and messages without data', () => {
    const text = ': subscribed abc\n\nid: 7\nevent: event\ndata: {"a":1}\n\n: keep-alive\n\ndata: one\ndata: two\n\nevent: nothing\n\n';
    assert.deepEqual(new SseParser().push(text), [
      { event: 'event', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'one\ntwo' },
    ]);
  });

  it('keeps a \\r\\n split by an empty chunk one line end', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('data: a\r'), []);
    assert.deepEqual(parser.push(''), []);
    assert.deepEqual(parser.push('\ndata: b\r\n\r\n'), [{ event: 'message', data: 'a\nb' }]);
  });

  it('reads a line of megabytes that arrives in many small chunks, and what follows it', () => {
    const data = JSON.stringify({ blob: 'x'.repeat(4 * 1024 * 1024) });
    const text = `id: 1\r\ndata: ${data}\r\n\r\ndata: after\n\n`;
    const parser = new SseParser();
    const out: SseMessage[] = [];
    for (let at = 0; at < text.length; at += 1000) out.push(...parser.push(text.slice(at, at + 1000)));
    assert.equal(out.length, 2);
    assert.equal(out[0]!.id, '1');
    assert.equal(out[0]!.data, data);
    assert.deepEqual(out[1], { event: 'message', data: 'after' });
  });

  it('gives the same messages for any chunking and any line ending', () => {
    const message = fc.record({
      id: fc.option(fc.integer({ min: 0, max: 1e9 }).map(String), { nil: undefined }),
      event: fc.constantFrom('event', 'error'),
      data: fc.array(fc.string({ unit: 'grapheme-ascii' }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(400)), (messages, eol, cuts) => {
        const text = messages
          .map((m) => [...(m.id === undefined ? [] : [`id: ${m.id}`]), `event: ${m.event}`, ...m.data.map((d) => `data: ${d}`), ''].join(eol) + eol)
          .join(`:comment${eol}`);
        const expected = messages.map((m) => ({ event: m.event, data: m.data.join('\n'), ...(m.id === undefined ? {} : { id: m.id }) }));
        assert.deepEqual(parseInChunks(text, cuts), expected);
      }),
      { numRuns: 300 },
    );
  });
});
