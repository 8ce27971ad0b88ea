/**
 * Environment variables of the seed (ExESDB and ExESDB Gater) that gater does not read, each with the reason. A
 * deployment moved over from the seed may still set them; they are reported as warnings, not refused. The seed names
 * gater does read are aliases in `OPTIONS` (see config/README.md).
 */
export const UNUSED_SEED_ENV: Readonly<Record<string, string>> = {
  EX_ESDB_COOKIE: 'gater has no Erlang distribution; nodes authenticate with the cluster secret',
  EX_ESDB_PUB_SUB: 'there is no Phoenix PubSub; subscriptions are served by the stores',
  EX_ESDB_GATER_CONNECT_TO: 'nodes find each other by gossip (GATER_GOSSIP_ADDR, GATER_SEEDS)',
  EX_ESDB_DB_TYPE: 'a store is embedded on one node or shared in PostgreSQL (GATER_STORE_BACKEND)',
  EX_ESDB_SEED_NODES: 'these are Erlang node names; gater seeds are host:port (GATER_SEEDS)',
};

/** Prefix of the seed's variables: unknown ones are warned about, never refused. */
export const SEED_ENV_PREFIX = 'EX_ESDB_';
/** Prefix of gater's variables: an unknown one is refused, being almost certainly a typo. */
export const GATER_ENV_PREFIX = 'GATER_';
