/** The greenhouse generator: each stream starts initialized, then only the seed's event types with their payloads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GREENHOUSE_EVENT_TYPES, GreenhouseEvents, OPERATORS } from '../../src/console/greenhouse.ts';

describe('GreenhouseEvents', () => {
  it('starts every greenhouse with initialized:v1, then generates the seed\'s types with realistic data', () => {
    const events = new GreenhouseEvents();
    const [first, ...rest] = events.batch('greenhouse1', 2_000);
    assert.equal(first!.eventType, 'initialized:v1');
    assert.equal(events.next('greenhouse2').eventType, 'initialized:v1');
    const types = new Set(rest.map((e) => e.eventType));
    assert.deepEqual([...types].filter((t) => !GREENHOUSE_EVENT_TYPES.includes(t)), []);
    assert.equal(types.size, GREENHOUSE_EVENT_TYPES.length - 1, 'every type but initialized shows up in 2,000 events');
    for (const e of rest) {
      const data = e.data as Record<string, unknown>;
      if (e.eventType.startsWith('desired_')) assert.ok(OPERATORS.includes(data['operator'] as never), JSON.stringify(e));
      if (e.eventType === 'temperature_measured:v1') assert.ok(typeof data['temperature'] === 'number' && (data['temperature'] as number) >= 5);
      if (e.eventType.endsWith('_activated:v1')) assert.ok((data['intensity'] as number) >= 25);
      assert.equal(e.metadata?.causationId, e.eventId);
      assert.match(String(e.metadata?.correlationId), /^[0-9a-f-]{36}$/);
    }
    assert.ok(rest.some((e) => (e.data as { operator?: string }).operator === 'John'));
  });
});
