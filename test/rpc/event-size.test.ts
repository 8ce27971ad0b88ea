/**
 * Every event the store accepts can be relayed: the largest event prepareEvents allows, with every other field at its
 * longest and escaped as much as JSON escapes anything, still fits one frame as a read answer and as a delivery.
 * Before the per-event bound, an event appended through one node (the HTTP body limit is 16 MiB too) was refused by
 * every other node's read ("the answer is 16777353 bytes encoded") and ended their subscriptions at it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FRAME_BYTES } from '../../src/rpc/framing.ts';
import { encodeMessage, RpcKind } from '../../src/rpc/messages.ts';
import { EVENT_TEXT_MAX_BYTES, NAME_MAX_LENGTH, STREAM_ID_MAX_LENGTH, TAGS_PER_EVENT_MAX, prepareEvents } from '../../src/store/validate.ts';
import type { RecordedEvent } from '../../src/store/types.ts';

/** A name JSON escapes at 6 bytes a character (control characters become \u00XX). */
const escaped = (length: number, c = '\u0001') => c.repeat(length);

function largestEvent(): RecordedEvent {
  const tags = Array.from({ length: TAGS_PER_EVENT_MAX }, (_, i) => `${i}`.padEnd(NAME_MAX_LENGTH, '\u0002'));
  const metadata = { m: 'x' };
  const budget = EVENT_TEXT_MAX_BYTES - JSON.stringify(tags).length - JSON.stringify(metadata).length;
  const data = 'd'.repeat(budget - 2); // a JSON string: its two quotes count
  const [prepared] = prepareEvents([{ eventType: 'T', data, metadata, tags }]).events;
  assert.ok(prepared, 'the largest event is accepted');
  return {
    eventId: prepared.eventId,
    eventType: escaped(NAME_MAX_LENGTH),
    streamId: escaped(STREAM_ID_MAX_LENGTH),
    version: Number.MAX_SAFE_INTEGER,
    position: Number.MAX_SAFE_INTEGER,
    data,
    metadata,
    tags: [...prepared.tags],
    timestamp: new Date(8.64e15).toISOString(),
    epochUs: Number.MAX_SAFE_INTEGER,
    dataContentType: escaped(NAME_MAX_LENGTH),
    metadataContentType: escaped(NAME_MAX_LENGTH),
  };
}

describe('the largest event the store accepts', () => {
  it('is refused one byte larger, counted in UTF-8 bytes, not characters', () => {
    const over = (data: string) => () => prepareEvents([{ eventType: 'T', data }]);
    assert.throws(over('d'.repeat(EVENT_TEXT_MAX_BYTES - 1)), { code: 'invalid_argument' });
    assert.doesNotThrow(over('d'.repeat(EVENT_TEXT_MAX_BYTES - 2)));
    // 3 bytes each: a third of the limit in characters is already over it.
    assert.throws(over('€'.repeat(Math.ceil(EVENT_TEXT_MAX_BYTES / 3))), (err: { data: { field: string } }) => err.data.field === 'events[0]');
  });

  it('fits one relay frame as a read answer and as a delivery', () => {
    const event = largestEvent();
    const answer = encodeMessage({ k: RpcKind.Result, id: 2 ** 31, result: { events: [event], nextPosition: Number.MAX_SAFE_INTEGER } });
    assert.ok(answer.byteLength <= MAX_FRAME_BYTES, `a read answer of it is ${answer.byteLength} bytes`);
    const delivery = encodeMessage({ k: RpcKind.Deliver, id: 2 ** 31, delivery: { event, attempt: Number.MAX_SAFE_INTEGER } as never });
    assert.ok(delivery.byteLength <= MAX_FRAME_BYTES, `a delivery of it is ${delivery.byteLength} bytes`);
  });
});
