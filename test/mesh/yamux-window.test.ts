/**
 * The half-window rule on the real yamux stream class: a stream that receives small frames grants its peer more window
 * only once half of it is used, and still before the peer could run dry.
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installHalfWindowUpdates, mayDeferWindowUpdate } from '../../src/mesh/yamux-window.ts';

const WINDOW = 256 * 1024; // the library's initial stream window
const DATA = 0;
const WINDOW_UPDATE = 1;

interface SentFrame {
  type: number;
  flag: number;
  length: number;
}

const silent = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {} });
const log = Object.assign(silent, { newScope: () => log });

function stream(state: StreamState): { stream: YamuxStream; sent: SentFrame[] } {
  const sent: SentFrame[] = [];
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    state,
    direction: 'inbound',
    log: log as never,
    getRTT: () => 1,
    sendFrame: (header) => {
      sent.push({ type: header.type, flag: header.flag, length: header.length });
      return true;
    },
  });
  return { stream: s, sent };
}

function receive(s: YamuxStream, bytes: number): void {
  s.handleData({ header: { type: DATA, flag: 0, streamID: 1, length: bytes, version: 0 }, data: new Uint8Array(bytes) } as never);
}

describe('yamux window updates', () => {
  installHalfWindowUpdates();

  it('sends no update for frames that leave more than half the window', () => {
    const { stream: s, sent } = stream(StreamState.Established);
    for (let i = 0; i < 100; i++) receive(s, 1_000);
    assert.deepEqual(sent, [], 'the library alone would have sent 100 updates here');
    s.abort(new Error('done'));
  });

  it('grants the used window once half of it is used, before the peer runs dry', () => {
    const { stream: s, sent } = stream(StreamState.Established);
    let received = 0;
    while (sent.length === 0) {
      receive(s, 4_096);
      received += 4_096;
      assert.ok(received < WINDOW, 'no update before the window ran out');
    }
    assert.ok(received >= WINDOW / 2, `update after ${received} bytes, not before half the window`);
    assert.equal(sent[0]!.type, WINDOW_UPDATE);
    assert.ok(sent[0]!.length >= received, 'the update returns at least everything received');
    s.abort(new Error('done'));
  });

  it('a paused stream grants nothing, and on resume grants what was used once more than half is', () => {
    const { stream: s, sent } = stream(StreamState.Established);
    s.sendPause();
    for (let i = 0; i < 40; i++) receive(s, 4_096); // 160 KiB of the 256 KiB window, unread
    assert.equal(sent.length, 0, 'paused: no update, so the peer stops at the window');
    s.sendResume();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.type, WINDOW_UPDATE);
    assert.ok(sent[0]!.length >= 40 * 4_096);
    s.abort(new Error('done'));
  });

  it('keeps the library behaviour for frames that carry flags and for paused streams', () => {
    assert.equal(mayDeferWindowUpdate({ state: StreamState.SYNReceived, recvWindow: WINDOW, recvWindowCapacity: WINDOW - 10 }), false);
    assert.equal(mayDeferWindowUpdate({ state: StreamState.Paused, recvWindow: WINDOW, recvWindowCapacity: WINDOW - 10 }), false);
    assert.equal(mayDeferWindowUpdate({ state: StreamState.Established, recvWindow: WINDOW, recvWindowCapacity: WINDOW / 2 }), false);
    assert.equal(mayDeferWindowUpdate({ state: StreamState.Established, recvWindow: WINDOW, recvWindowCapacity: WINDOW / 2 + 1 }), true);
    // An inbound stream acknowledges its opening with its first update, at once.
    const { stream: s, sent } = stream(StreamState.SYNReceived);
    receive(s, 100);
    assert.equal(sent.length, 1);
    assert.notEqual(sent[0]!.flag, 0, 'the acknowledgement carries its flag');
    s.abort(new Error('done'));
  });
});
