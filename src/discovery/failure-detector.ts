/**
 * The timing of membership, as pure functions of how long a peer has been silent. A peer is alive until
 * `suspectAfterMs` of silence, suspect until `deadAfterMs`, dead after that, and forgotten after `forgetAfterMs`; a
 * peer that announced its leave is dead at once. Every time is in monotonic milliseconds.
 */
import type { PeerState } from './types.ts';

export interface MembershipWindows {
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly forgetAfterMs: number;
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
