/**
 * The timing of membership, as pure functions of how long a peer has been silent. A peer is alive until
 * `suspectAfterMs` of silence, suspect until `deadAfterMs`, dead after that, and forgotten after `forgetAfterMs`; a
 * peer that announced its leave is dead at once. From `probeAfterMs` of silence until it is heard again or dead, a
 * peer is probed every `probeIntervalMs`: any packet of it, an ack as well as a beacon, ends its silence. So a peer
 * dies only when its beacons and the answers to every probe of the dead window were all lost, or it was really gone.
 * Every time is in monotonic milliseconds.
 */
import type { PeerState } from './types.ts';

export interface MembershipWindows {
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly forgetAfterMs: number;
  /** Silence after which a live peer is probed; at most `suspectAfterMs`. */
  readonly probeAfterMs: number;
  /** Time between two probes of a peer that stays silent. */
  readonly probeIntervalMs: number;
}

export type SilenceVerdict = PeerState | 'forgotten';

/** The state of a peer last heard at `lastHeard`, at time `now`. */
export function stateAt(lastHeard: number, left: boolean, now: number, w: MembershipWindows): SilenceVerdict {
  const silence = now - lastHeard;
  if (silence >= w.forgetAfterMs) return 'forgotten';
  if (left || silence >= w.deadAfterMs) return 'dead';
  if (silence >= w.suspectAfterMs) return 'suspect';
  return 'alive';
}

/** When the verdict of `stateAt` next changes for a peer in `state`. */
export function nextTransitionAt(lastHeard: number, state: PeerState, w: MembershipWindows): number {
  switch (state) {
    case 'alive':
      return lastHeard + w.suspectAfterMs;
    case 'suspect':
      return lastHeard + w.deadAfterMs;
    case 'dead':
      return lastHeard + w.forgetAfterMs;
  }
}

/**
 * When a live peer last heard at `lastHeard` is next due a probe: `probeAfterMs` into its silence, then every
 * `probeIntervalMs` after the last probe sent (`probedAt`, undefined until the first one of this silence). Dead peers
 * are not probed: their beacons bring them back if they are alive after all.
 */
export function nextProbeAt(lastHeard: number, probedAt: number | undefined, w: MembershipWindows): number {
  return probedAt === undefined ? lastHeard + w.probeAfterMs : probedAt + w.probeIntervalMs;
}
