/**
 * The greenhouse automation domain of the seed's console: realistic events for testing, per greenhouse (one stream
 * each). A greenhouse starts with `initialized:v1`, then mostly measures (temperature, humidity, light drift a
 * little at a time), now and then switches a device, and sometimes an operator sets a target.
 */
import type { NewEvent } from '../store/types.ts';
import { uuidv7 } from '../util/uuid.ts';

export const MEASUREMENT_TYPES = ['temperature_measured:v1', 'humidity_measured:v1', 'light_measured:v1'] as const;
export const DEVICES = ['fan', 'light', 'heater', 'sprinkler'] as const;
export const SETPOINT_TYPES = ['desired_temperature_set:v1', 'desired_humidity_set:v1', 'desired_light_set:v1'] as const;
export const OPERATORS = ['John', 'Mary', 'Alice', 'Bob'] as const;

/** Every event type the console generates, in the seed's order. */
export const GREENHOUSE_EVENT_TYPES: readonly string[] = [
  'initialized:v1',
  ...MEASUREMENT_TYPES,
  ...DEVICES.flatMap((d) => [`${d}_activated:v1`, `${d}_deactivated:v1`]),
  ...SETPOINT_TYPES,
];

/** Share of generated events that are measurements, device switches, and operator setpoints (the rest). */
const MEASUREMENT_SHARE = 0.6;
const DEVICE_SHARE = 0.25;

interface GreenhouseState {
  temperature: number;
  humidity: number;
  light: number;
  sequence: number;
}

/** A source of random numbers in [0, 1); injectable so tests can make generation deterministic. */
export type Random = () => number;

export class GreenhouseEvents {
  private readonly random: Random;
  private readonly greenhouses = new Map<string, GreenhouseState>();

  constructor(random: Random = Math.random) {
    this.random = random;
  }

  /** The next event of the greenhouse written to `streamId`; its first is always `initialized:v1`. */
  next(streamId: string): NewEvent {
    let state = this.greenhouses.get(streamId);
    if (state === undefined) {
      state = { temperature: 18 + this.int(8), humidity: 50 + this.int(20), light: 40 + this.int(40), sequence: 0 };
      this.greenhouses.set(streamId, state);
      return this.event('initialized:v1', { name: streamId, temperature: state.temperature, humidity: state.humidity });
    }
    state.sequence += 1;
    const roll = this.random();
    if (roll < MEASUREMENT_SHARE) return this.measurement(state);
    if (roll < MEASUREMENT_SHARE + DEVICE_SHARE) return this.device();
    return this.setpoint();
  }

  /** A batch of `count` events for one greenhouse. */
  batch(streamId: string, count: number): NewEvent[] {
    return Array.from({ length: count }, () => this.next(streamId));
  }

  /** A typical payload of an event type, as a starting point for the manual append form. */
  sample(eventType: string): Record<string, unknown> {
    const device = DEVICES.find((d) => eventType.startsWith(`${d}_`));
    if (eventType === 'initialized:v1') return { name: 'greenhouse1', temperature: 21, humidity: 60 };
    if (eventType === 'temperature_measured:v1') return { temperature: 22 };
    if (eventType === 'humidity_measured:v1') return { humidity: 65 };
    if (eventType === 'light_measured:v1') return { light: 80 };
    if (eventType === 'desired_temperature_set:v1') return { temperature: 25, operator: 'John' };
    if (eventType === 'desired_humidity_set:v1') return { humidity: 60, operator: 'John' };
    if (eventType === 'desired_light_set:v1') return { light: 70, operator: 'John' };
    if (device !== undefined) return eventType.endsWith('_activated:v1') ? { intensity: 75 } : {};
    return {};
  }

  private measurement(state: GreenhouseState): NewEvent {
    const kind = this.pick(MEASUREMENT_TYPES);
    if (kind === 'temperature_measured:v1') {
      state.temperature = clamp(state.temperature + this.drift(), 5, 40);
      return this.event(kind, { temperature: state.temperature });
    }
    if (kind === 'humidity_measured:v1') {
      state.humidity = clamp(state.humidity + this.drift() * 2, 10, 100);
      return this.event(kind, { humidity: state.humidity });
    }
    state.light = clamp(state.light + this.drift() * 5, 0, 100);
    return this.event(kind, { light: state.light });
  }

  private device(): NewEvent {
    const device = this.pick(DEVICES);
    if (this.random() < 0.5) return this.event(`${device}_deactivated:v1`, {});
    return this.event(`${device}_activated:v1`, { intensity: 25 + this.int(76) });
  }

  private setpoint(): NewEvent {
    const type = this.pick(SETPOINT_TYPES);
    const operator = this.pick(OPERATORS);
    if (type === 'desired_temperature_set:v1') return this.event(type, { temperature: 18 + this.int(10), operator });
    if (type === 'desired_humidity_set:v1') return this.event(type, { humidity: 40 + this.int(40), operator });
    return this.event(type, { light: 20 + this.int(80), operator });
  }

  /** An event with the seed's metadata: a correlation id, and the event's own id as its causation. */
  private event(eventType: string, data: Record<string, unknown>): NewEvent {
    const eventId = uuidv7();
    return { eventId, eventType, data, metadata: { correlationId: uuidv7(), causationId: eventId } };
  }

  private drift(): number {
    return this.int(3) - 1;
  }

  private int(below: number): number {
    return Math.floor(this.random() * below);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
