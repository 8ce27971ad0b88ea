/**
 * When is a rig's cluster formed? A pure reading of the nodes' `/v1/cluster` answers: every member sees every other
 * member alive with an open mesh connection, and the worker registry of every member lists every member's stores.
 * What is missing is said in words, so a timeout tells which node lacks what.
 */

/** The parts of `GET /v1/cluster` the rig reads. */
export interface ClusterView {
  self: { nodeId: string; name: string; incarnation: number; stores: string[]; state: string };
  peers: { nodeId: string; name: string; state: 'alive' | 'suspect' | 'dead'; connected: boolean; incarnation: number; stores: string[] }[];
  registry: {
    entries: { store: string; workerId: string; nodeId: string }[];
    conflicts: { store: string }[];
  };
  mesh: { connections: number };
}

export interface Member {
  readonly name: string;
  readonly stores: readonly string[];
}

/** Everything that keeps `members` from being one formed cluster; empty when it is one. `views[i]` is member i's. */
export function formationGaps(members: readonly Member[], views: readonly (ClusterView | undefined)[]): string[] {
  const gaps: string[] = [];
  const stores = members.flatMap((m) => m.stores);
  members.forEach((member, i) => {
    const view = views[i];
    if (view === undefined) {
      gaps.push(`${member.name} does not answer`);
      return;
    }
    for (const other of members) {
      if (other.name === member.name) continue;
      const peer = view.peers.find((p) => p.name === other.name);
      if (peer === undefined) gaps.push(`${member.name} has not heard of ${other.name}`);
      else if (peer.state !== 'alive') gaps.push(`${member.name} sees ${other.name} ${peer.state}`);
      else if (!peer.connected) gaps.push(`${member.name} has no mesh connection to ${other.name}`);
    }
    const registered = new Set(view.registry.entries.map((e) => e.store));
    const missing = stores.filter((s) => !registered.has(s));
    if (missing.length > 0) gaps.push(`${member.name}'s registry lacks ${missing.join(', ')}`);
    if (view.registry.conflicts.length > 0) {
      gaps.push(`${member.name} reports conflicting stores ${view.registry.conflicts.map((c) => c.store).join(', ')}`);
    }
  });
  return gaps;
}
