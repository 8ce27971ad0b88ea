export { RpcConnection, STREAM_CREDIT, EARLY_FLUSH_FRAMES, type RpcHandler, type RpcConnectionInit } from './rpc-connection.ts';
export { socketChannel, type ByteChannel } from './byte-channel.ts';
export { FrameDecoder, encodeFrames, MAX_FRAME_BYTES, FrameTooLargeError } from './framing.ts';
export { RpcKind, encodeMessage, decodeMessage, type RpcMessage } from './messages.ts';
export { RemoteSubscription } from './remote-subscription.ts';
export { streamChannel } from './libp2p-channel.ts';
export { RpcPeers, type ChannelDialer } from './rpc-peers.ts';
