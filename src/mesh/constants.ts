/**
 * Tuning values of the mesh, named with their unit. The libp2p defaults they replace are quoted where it matters:
 * libp2p is tuned for a public network of strangers, a gater mesh is a private cluster of tens of trusted nodes that
 * keep one connection each to every other and hold streams open for the life of that connection.
 */

/**
 * TCP port of the mesh (`GATER_MESH_PORT`): 0, any free port, which discovery announces; 45893
 * (`CONVENTIONAL_MESH_PORT`) is the fixed port for firewalled deployments. Defined with the other options' defaults.
 */
export { DEFAULT_MESH_PORT, CONVENTIONAL_MESH_PORT } from '../config/defaults.ts';
/** Listen on every interface; `announceHosts` says which of them peers should dial. */
export const DEFAULT_MESH_LISTEN_HOST = '0.0.0.0';

/** First redial delay after a failed dial or a dropped connection (before jitter). */
export const REDIAL_INITIAL_DELAY_MS = 100;
/** Redial delays double per consecutive failure up to this ceiling, so a wanted peer is tried at least this often. */
export const REDIAL_MAX_DELAY_MS = 5_000;
/**
 * A connection that lived at least this long counts as a success: the next drop starts the backoff over. A shorter
 * one (a peer that accepts and hangs up at once) keeps growing the delay, so a flapping peer cannot cause a dial loop.
 */
export const STABLE_CONNECTION_MS = 10_000;
/** One dial attempt (TCP connect, key selection, pnet, noise, yamux). libp2p: 10 s; a LAN peer answers in milliseconds. */
export const DIAL_TIMEOUT_MS = 5_000;
/** An inbound connection must finish its upgrade within this. libp2p: 10 s. */
export const INBOUND_UPGRADE_TIMEOUT_MS = 5_000;
/** Repeated failures to dial a wanted peer are logged at warn on this failure and every this many after it. */
export const REDIAL_WARN_EVERY_FAILURES = 10;

/** Upper bound on open connections before libp2p prunes; far above one per peer for a cluster of tens of nodes. */
export const MAX_CONNECTIONS = 256;
/**
 * Inbound connections still upgrading at once, from all hosts together. libp2p: 10, which a whole cluster starting
 * together can exceed when every node with a smaller id dials the same one. At this count libp2p refuses every inbound
 * connection, members' too, so no single host may fill it (the per-host cap below) and a connection that sends
 * nothing holds its slot briefly (`KEY_SELECTION_OFFER_TIMEOUT_MS`).
 */
export const MAX_INCOMING_PENDING_CONNECTIONS = 128;
/**
 * Inbound connections still upgrading at once from one IP address. A node dials one address of a peer at a time, so a
 * host has at most as many upgrading here as it runs nodes: one in the namespace rig or under Docker (every node its
 * own address), at most 15 in the largest single-host cluster run here (the 16-node registry benchmark on loopback).
 * Without it one stranger's idle connections filled the node-wide slots and locked every member out. A quarter of
 * those slots: a host holding it leaves the other three quarters to everyone else.
 */
export const MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST = 32;
/**
 * Inbound connections accepted per second from one host. libp2p: 5, which refuses a loopback or single-host cluster,
 * where every peer shares one address. A node opens one connection to each peer and redials no faster than 100 ms
 * doubling, at most 5 dials in a second, so even 16 failing nodes on one host stay under it; a host beyond it is
 * refused before its connections take an upgrade slot, and a refused member redials after its backoff.
 */
export const INBOUND_CONNECTION_THRESHOLD_PER_S = 100;

/**
 * How often libp2p's connection monitor pings each peer; a failed ping aborts the connection, which is how a peer
 * whose host vanished without closing its sockets is noticed. libp2p: 10 s.
 */
export const CONNECTION_PING_INTERVAL_MS = 5_000;
/**
 * A TCP socket with no traffic at all for this long is closed. With pings every 5 s and yamux keep-alives every
 * 30 s this only fires on a dead socket. libp2p: 2 min.
 */
export const SOCKET_INACTIVITY_TIMEOUT_MS = 60_000;
/**
 * Inactivity timeout of one muxed stream. The RPC keeps one stream per peer open for the life of the connection,
 * idle or not, so this is a day (libp2p: 2 min; the yamux of this libp2p line does not enforce it, set anyway).
 */
export const STREAM_INACTIVITY_TIMEOUT_MS = 86_400_000;
/**
 * Concurrent streams of one protocol per connection, each way. libp2p: 32 inbound, 64 outbound, which one
 * subscription per stream would exhaust.
 */
export const MAX_STREAMS_PER_PROTOCOL = 1_024;

/** Gossipsub heartbeat: mesh maintenance and gossip emission. The gossipsub default. */
export const GOSSIP_HEARTBEAT_INTERVAL_MS = 1_000;

/** Largest unary request (`handleRequests`) accepted; yamux buffers up to 4 MiB per stream anyway. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Unary requests one peer may have in progress at once on one protocol (libp2p's own default). */
export const MAX_CONCURRENT_REQUESTS_PER_PEER = 32;
/** Largest unary response (`request`) accepted. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Secrets a keyring may hold (primary plus previous); each costs 8 bytes in every connection preamble. */
export const MAX_CLUSTER_SECRETS = 8;
/** Forgotten peers remembered (and refused) at most; the oldest is dropped first. */
export const MAX_FORGOTTEN_PEERS = 4_096;
/** The key-selection preamble (see `keyring-protector.ts`) must complete within this when libp2p passes no signal. */
export const KEY_SELECTION_TIMEOUT_MS = 5_000;
/**
 * The listener drops an inbound connection whose key-selection offer (13 to 69 bytes, which a member sends the moment
 * its connection opens, so it arrives half a round trip later) has not arrived within this. Until then the connection
 * holds an upgrade slot, and under libp2p's 5 s upgrade timeout a stranger sending nothing held it for 5 s. Checked
 * again after pending socket input is read, so a stall of this process does not drop an offer that had arrived; the
 * margin covers the dialer's own stalls (its offer leaves when its event loop turns: a long synchronous commit or a
 * collection pause on a busy node) and a retransmitted packet. The per-host cap, not this, is what bounds a flooder.
 */
export const KEY_SELECTION_OFFER_TIMEOUT_MS = 1_500;
