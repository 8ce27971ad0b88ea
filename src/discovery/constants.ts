/**
 * Defaults and limits of gossip discovery, each named with its unit. `discovery-config.ts` documents how they combine;
 * the limits on field sizes are part of the wire protocol (a decoder rejects what an encoder may not produce).
 */

/** UDP port of gossip, the same on every node (the seed's libcluster port). */
export const DEFAULT_GOSSIP_PORT = 45_892;
/**
 * Multicast group: 239.255.0.0/16 is the IPv4 Local Scope (RFC 2365), which routers at the edge of a site do not
 * forward, so gossip cannot leak beyond the site even on a misconfigured network.
 */
export const DEFAULT_MULTICAST_GROUP = '239.255.43.21';
/** The group address when `broadcastOnly` is set and `group` is not: the limited broadcast address. */
export const DEFAULT_BROADCAST_ADDRESS = '255.255.255.255';
/** Loopback, so that a node started with no configuration never gossips beyond its own host. */
export const DEFAULT_BIND_ADDRESS = '127.0.0.1';
/** One hop: multicast gossip stays on the local link. */
export const DEFAULT_MULTICAST_TTL = 1;
export const MAX_MULTICAST_TTL = 255;

/** Time between two beacons of one node. */
export const DEFAULT_INTERVAL_MS = 1_000;
export const MIN_INTERVAL_MS = 10;
export const MAX_INTERVAL_MS = 60_000;
/**
 * Each interval is drawn uniformly from `intervalMs × (1 ± INTERVAL_JITTER_RATIO)`, so that nodes started together
 * (a compose file, a rolling restart) do not beacon in lockstep and burst the network every second.
 */
export const INTERVAL_JITTER_RATIO = 0.2;

/**
 * A peer not heard for this many intervals is suspect. Three: the longest gap between two beacons is
 * `intervalMs × (1 + INTERVAL_JITTER_RATIO)`, so two lost beacons in a row (2.4 intervals) still do not make a
 * healthy peer suspect, while a crashed one is suspected after about 3 s with the default interval.
 */
export const SUSPECT_AFTER_INTERVALS = 3;
/**
 * A peer not heard for this many intervals is dead: the mesh hangs up on it and its workers leave the registry. Five:
 * two more intervals of grace after suspicion, so that a stop-the-world pause (a long GC, a VM migration) or a
 * short burst of loss does not evict a live node, while a crash is acted on within about 5 s.
 */
export const DEAD_AFTER_INTERVALS = 5;
/**
 * A sweep of the peer table that runs later than this after its due time was held up by this process itself (its
 * event loop blocked, the machine suspended): the peers' packets of that time are still unread in the socket, so
 * that much of their silence is excused (`PeerTable.excuse`). Timers of a busy but healthy process run a few
 * milliseconds late, never this much.
 */
export const STALL_TOLERANCE_MS = 250;
/**
 * A peer not heard for this many intervals is probed directly. One and a half: past the longest gap between two
 * beacons (1.2 intervals), so a healthy peer is probed only once a beacon of it was lost, and early enough that
 * several rounds of probes fit before suspicion (3 intervals) and many before death (5 intervals).
 */
export const PROBE_AFTER_INTERVALS = 1.5;
/**
 * Probes sent per interval to a silent peer, each answered at once. Four: under 20 % loss each way a probe and
 * its ack both arrive with probability 0.64, so the 14 probes between `probeAfterMs` and `deadAfterMs` all fail
 * with probability 0.36¹⁴ ≈ 6 × 10⁻⁷; a silent peer costs two small datagrams per quarter interval, and only for
 * as long as it stays silent.
 */
export const PROBES_PER_INTERVAL = 4;
/**
 * A dead peer stays in the table, shown as dead, for this many intervals after it was last heard (a minute with the
 * default interval), so that `gater status` can still tell who left; then it is forgotten.
 */
export const FORGET_AFTER_INTERVALS = 60;

/**
 * The largest difference accepted between a packet's timestamp and the receiver's clock. Together with the
 * sequence numbers it bounds replays: a captured packet is worthless after this long. 30 s tolerates hosts whose
 * clocks are not tightly synchronised (NTP keeps a LAN within milliseconds), without leaving replays open for long.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

/**
 * The least time between two prompt replies to the same endpoint. Replies make a cluster form in well under a
 * second; a node that restarts in a loop must not make every peer answer it in a loop too.
 */
export const REPLY_MIN_GAP_MS = 200;
/** How long a stopping node waits for its leave packets to be handed to the kernel. */
export const LEAVE_SEND_TIMEOUT_MS = 200;
/** Drops of one reason are logged at most once per window, with the count since the previous line. */
export const DROP_LOG_WINDOW_MS = 10_000;

/** The largest datagram sent or accepted: fits the 1,500-byte Ethernet MTU with room for IP, UDP and tunnel headers. */
export const MAX_DATAGRAM_BYTES = 1_400;
/** A secret shorter than this is refused: 16 bytes keeps the derived keys out of brute-force reach. */
export const MIN_SECRET_BYTES = 16;

/** Field limits of the payload (protocol version 1). */
export const MAX_CLUSTER_NAME_BYTES = 64;
export const MAX_NODE_ID_BYTES = 128;
export const MAX_NODE_NAME_BYTES = 253;
export const MAX_ADDR_BYTES = 255;
export const MAX_ADDRS = 16;
export const MAX_ROLE_BYTES = 64;
export const MAX_ROLES = 16;
export const MAX_STORE_BYTES = 64;
export const MAX_STORES = 255;
/** Endpoints of known peers a unicast packet carries, so that nodes that share only a seed still find each other. */
export const MAX_HINTS = 32;
/** Endpoints learnt from hints and not yet heard from directly; beyond this, further hints are ignored. */
export const MAX_INTRODUCED_ENDPOINTS = 64;
