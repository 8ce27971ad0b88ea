/**
 * The events the store benchmark writes: greenhouse sensor readings, with metadata and one tag, about 300 bytes of
 * JSON each, so that rows are realistic rather than empty.
 */
import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../../src/store/types.ts';
import { uuidv7 } from '../../../src/util/uuid.ts';

const SENSORS = ['temperature', 'humidity', 'light', 'co2'] as const;

/** The i-th reading; with `withId`, the caller supplies its event id (as a retrying client would). */
export function readingEvent(i: number, withId: boolean): NewEvent {
  const greenhouse = `gh-${i % 16}`;
  const event: NewEvent = {
    eventType: 'SensorReadingRecorded',
    data: {
      greenhouseId: greenhouse,
      sensor: SENSORS[i % SENSORS.length],
      value: 20 + (i % 100) / 10,
      unit: 'C',
      sequence: i,
      recordedBy: 'bench',
    },
    metadata: { correlationId: randomUUID(), causationId: randomUUID() },
    tags: [`greenhouse:${greenhouse}`],
  };
  if (withId) event.eventId = uuidv7();
  return event;
}
