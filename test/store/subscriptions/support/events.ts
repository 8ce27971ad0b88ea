/** Builders and a reference filter evaluator shared by the subscription tests. */
import type { EventFilter, RecordedEvent } from '../../../../src/store/types.ts';

export function recordedEvent(fields: Partial<RecordedEvent> & { position: number }): RecordedEvent {
  return {
    eventId: `00000000-0000-7000-8000-${String(fields.position).padStart(12, '0')}`,
    eventType: 'test_event:v1',
    streamId: 'stream-1',
    version: 0,
    data: {},
    metadata: {},
    tags: [],
    timestamp: '2026-01-01T00:00:00.000Z',
    epochUs: 1_767_225_600_000_000,
    dataContentType: 'application/json',
    metadataContentType: 'application/json',
    ...fields,
  };
}

/** A glob matcher written independently of the engine's (dynamic programming, no regular expressions). */
export function globMatches(pattern: string, text: string): boolean {
  const p = [...pattern];
  const t = [...text];
  // reach[j]: the pattern prefix consumed so far matches the first j characters of the text.
  let reach = new Array<boolean>(t.length + 1).fill(false);
  reach[0] = true;
  for (const ch of p) {
    const next = new Array<boolean>(t.length + 1).fill(false);
    for (let j = 0; j <= t.length; j++) {
      if (ch === '*') next[j] = reach[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0) next[j] = reach[j - 1]! && (ch === '?' || ch === t[j - 1]);
    }
    reach = next;
  }
  return reach[t.length]!;
}

/** What an ideal backend returns for a filter (the payload is the engine's business, not the filter's). */
export function filterAccepts(filter: EventFilter, e: RecordedEvent): boolean {
  if (filter.streamId !== undefined && e.streamId !== filter.streamId) return false;
  if (filter.streamPattern !== undefined && !globMatches(filter.streamPattern, e.streamId)) return false;
  if (filter.minVersion !== undefined && e.version < filter.minVersion) return false;
  if (filter.types !== undefined && !filter.types.includes(e.eventType)) return false;
  if (filter.tags !== undefined) {
    const has = (t: string) => e.tags.includes(t);
    if (filter.tagMatch === 'all' ? !filter.tags.every(has) : !filter.tags.some(has)) return false;
  }
  return true;
}
