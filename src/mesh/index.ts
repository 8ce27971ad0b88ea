/**
 * The mesh: a libp2p node per gater process, joined into a private network by the cluster secrets. See README.md in
 * this folder for the defaults, the key derivation and the secret rotation procedure.
 */
export {
  Mesh,
  isPeerIdText,
  type MeshComponents,
  type MeshInit,
  type MeshEvents,
  type MeshConnectionInfo,
  type MeshStreamHandler,
  type MeshMessageHandler,
  type MeshRequestHandler,
  type MeshHandleOptions,
  type MeshRefusal,
  type MeshStats,
} from './mesh.ts';
export { loadOrCreatePeerKey, PEER_KEY_FILE } from './peer-key.ts';
export { deriveClusterKeys, deriveKeyId, deriveSwarmKey, type ClusterKey, type ClusterSecrets } from './cluster-keys.ts';
export { KeyringProtector, type KeyringProtectorInit, type KeyRefusal } from './keyring-protector.ts';
export { PeerDialer, dialsFirst, redialDelayMs, type PeerDialerInit, type PeerDialerComponents } from './peer-dialer.ts';
export { readToEnd, exchange, answer } from './unary.ts';
export * from './constants.ts';
export type { Stream as MeshStream } from '@libp2p/interface';
