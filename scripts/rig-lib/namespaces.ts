/**
 * The rig's network, built with `ip` and `nft` alone. Every host is a network namespace with one veth interface
 * (`eth0`) whose other end is a port of a Linux bridge living in a namespace of its own, so nothing is ever created in,
 * or attached to, the machine's own network namespace: each veth pair is created inside the bridge namespace with its
 * host end moved straight into the host namespace.
 *
 *   <prefix>-br   br0 ── h1 ┄┄ eth0  <prefix>-h1  198.18.0.11/24
 *                     ├─ h2 ┄┄ eth0  <prefix>-h2  198.18.0.12/24
 *                     └─ …
 *
 * A partition takes the host's bridge port down (its cable pulled); loss is an nftables rule in the host namespace
 * that drops a random share of what the host receives (this kernel has no netem).
 */
import { statSync } from 'node:fs';
import { run, tryRun } from './commands.ts';
import { RIG_PREFIX_LENGTH } from './topology.ts';

export const BRIDGE_INTERFACE = 'br0';
export const HOST_INTERFACE = 'eth0';
/** Where `ip netns` keeps its named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';
/** The nftables table of the loss rule, in each host namespace. */
export const LOSS_TABLE = 'gater_rig';

export function bridgeNamespace(prefix: string): string {
  return `${prefix}-br`;
}

export function hostNamespace(prefix: string, index: number): string {
  return `${prefix}-h${index}`;
}

/** The bridge port of host I, in the bridge namespace (at most 15 characters, as every interface name). */
export function bridgePort(index: number): string {
  return `h${index}`;
}

/** Names of every named network namespace (`ip netns list` prints `name (id: N)`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((name) => name !== '');
}

/** Whether this machine lets us create network namespaces; resolves with the reason when it does not. */
export async function namespaceSupport(): Promise<string | undefined> {
  try {
    await run('ip', ['netns', 'list']);
    return undefined;
  } catch (err) {
    return `\`ip netns\` is unavailable: ${(err as Error).message}`;
  }
}

/** A namespace with its loopback up (so a node inside reaches itself on 127.0.0.1). */
async function createNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/**
 * The bridge namespace and its bridge. Multicast snooping is off: with no IGMP querier on the segment the bridge
 * would otherwise age group memberships out and stop forwarding multicast gossip after a few minutes.
 */
export async function createBridge(namespace: string): Promise<void> {
  await createNamespace(namespace);
  await run('ip', ['-n', namespace, 'link', 'add', BRIDGE_INTERFACE, 'type', 'bridge', 'mcast_snooping', '0']);
  await run('ip', ['-n', namespace, 'link', 'set', BRIDGE_INTERFACE, 'up']);
}

/** A host namespace plugged into the bridge, with `address`/24 on its `eth0`. */
export async function createHost(bridgeNs: string, hostNs: string, index: number, address: string): Promise<void> {
  await createNamespace(hostNs);
  const port = bridgePort(index);
  await run('ip', ['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', HOST_INTERFACE, 'netns', hostNs]);
  await run('ip', ['-n', bridgeNs, 'link', 'set', port, 'master', BRIDGE_INTERFACE, 'up']);
  await run('ip', ['-n', hostNs, 'addr', 'add', `${address}/${RIG_PREFIX_LENGTH}`, 'broadcast', '+', 'dev', HOST_INTERFACE]);
  await run('ip', ['-n', hostNs, 'link', 'set', HOST_INTERFACE, 'up']);
  // On-link default route, as a container has: a node bound to 0.0.0.0 can then send to 255.255.255.255.
  await run('ip', ['-n', hostNs, 'route', 'add', 'default', 'dev', HOST_INTERFACE]);
}

/** Takes host I's bridge port down (a partition) or up again (healed). */
export async function setBridgePort(bridgeNs: string, index: number, up: boolean): Promise<void> {
  await run('ip', ['-n', bridgeNs, 'link', 'set', bridgePort(index), up ? 'up' : 'down']);
}

/**
 * Drops `percent` % of the packets host `hostNs` receives on its bridge interface, each at random; only UDP (in the
 * rig, gossip and nothing else) when `udpOnly`. 0 removes the rule. Applied on receipt only, so that with the rule on
 * every host each packet is lost with that probability at each receiver, independently.
 */
export async function setLoss(hostNs: string, percent: number, udpOnly: boolean): Promise<void> {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`loss is an integer percentage from 0 to 100 (got ${percent})`);
  }
  await tryRun('ip', ['netns', 'exec', hostNs, 'nft', 'delete', 'table', 'inet', LOSS_TABLE]);
  if (percent === 0) return;
  const match = udpOnly ? 'meta l4proto udp ' : '';
  const ruleset = [
    `table inet ${LOSS_TABLE} {`,
    '  chain loss {',
    '    type filter hook input priority -10; policy accept;',
    `    iifname "${HOST_INTERFACE}" ${match}numgen random mod 100 < ${percent} counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
  await run('ip', ['netns', 'exec', hostNs, 'nft', '-f', '-'], ruleset);
}

/** Packets the loss rule of a host has dropped so far; undefined when it has none. */
export async function lossDropped(hostNs: string): Promise<number | undefined> {
  const out = await tryRun('ip', ['netns', 'exec', hostNs, 'nft', '-j', 'list', 'table', 'inet', LOSS_TABLE]);
  if (out === undefined) return undefined;
  const items = (JSON.parse(out) as { nftables?: { rule?: { expr?: { counter?: { packets: number } }[] } }[] }).nftables ?? [];
  for (const item of items) {
    const counter = item.rule?.expr?.find((e) => e.counter !== undefined)?.counter;
    if (counter !== undefined) return counter.packets;
  }
  return undefined;
}

/** PIDs of the processes inside a namespace (`ip netns pids`). */
export async function namespacePids(namespace: string): Promise<number[]> {
  const out = await tryRun('ip', ['netns', 'pids', namespace]);
  return (out ?? '').split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * Whether process `pid` runs inside network namespace `namespace`: the guard before a kill, so that a PID the kernel
 * reused for someone else's process is never signalled.
 */
export function pidInNamespace(pid: number, namespace: string): boolean {
  try {
    const theirs = statSync(`/proc/${pid}/ns/net`);
    const ours = statSync(`${NETNS_RUN_DIR}/${namespace}`);
    return theirs.ino === ours.ino && theirs.dev === ours.dev;
  } catch {
    return false;
  }
}

/** Deletes a namespace (its interfaces go with it); a missing one is not an error. */
export async function deleteNamespace(namespace: string): Promise<void> {
  await tryRun('ip', ['netns', 'delete', namespace]);
}
