import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAgo, formatReadiness, formatTime, renderStatus, shortId } from '../../src/cli/status-view.ts';
import { renderTable } from '../../src/cli/table.ts';

describe('status rendering', () => {
  it('says how long ago, in the unit that reads best', () => {
    const cases: [number, string][] = [
      [0, '0.0s ago'],
      [450, '0.5s ago'],
      [9_940, '9.9s ago'],
      [10_000, '10s ago'],
      [119_000, '119s ago'],
      [120_000, '2m ago'],
      [7_199_000, '120m ago'],
      [7_200_000, '2h ago'],
      [172_800_000, '2d ago'],
      [-3_000, 'just now'],
      [-60_000, 'ahead of this clock'],
    ];
    for (const [elapsed, text] of cases) assert.equal(formatAgo(elapsed), text, String(elapsed));
  });

  it('reads times as epoch milliseconds or ISO text, and shows the time itself once it is long ago', () => {
    const now = Date.parse('2026-01-02T00:00:00.000Z');
    assert.equal(formatTime(now - 1_500, now), '1.5s ago');
    assert.equal(formatTime('2026-01-01T23:59:58.500Z', now), '1.5s ago');
    assert.equal(formatTime('2026-01-01T00:00:00.000Z', now), '2026-01-01T00:00:00.000Z (24h ago)');
    assert.equal(formatTime('whenever', now), 'whenever');
    assert.equal(formatTime(undefined, now), '');
  });

  it('shortens long ids only', () => {
    assert.equal(shortId('n1-short-id'), 'n1-short-id');
    assert.equal(shortId('12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz0123456789'), '12D3KooW…456789');
  });

  it('aligns columns and leaves no trailing blanks', () => {
    assert.equal(renderTable(['A', 'LONGER'], [['wide cell', ''], ['x', 'y']]), '  A          LONGER\n  wide cell\n  x          y\n');
  });

  it('says whether the node is ready, naming each failed check, or why it cannot tell', () => {
    assert.equal(formatReadiness({ body: { ready: true, checks: { node: { ok: true } } } }), 'yes');
    assert.equal(
      formatReadiness({ body: { ready: false, checks: { node: { ok: false, detail: 'starting' }, registry: { ok: true }, 'store:a': { ok: false } } } }),
      'NO - node (starting), store:a',
    );
    assert.equal(formatReadiness({ body: { ready: false } }), 'NO');
    assert.equal(formatReadiness({ body: {} }), 'unknown (the answer says neither ready nor not)');
    assert.equal(formatReadiness({ unknown: 'GET /health/ready answered 404' }), 'unknown (GET /health/ready answered 404)');
  });

  it('shows a store in conflict even when the store list lacks it, and a peer with no mesh connection', () => {
    const text = renderStatus(
      { peers: [{ name: 'n2', nodeId: 'n2-id', state: 'alive', connected: false }], registry: { conflicts: [{ store: 'alpha', nodeIds: ['a', 'b'] }] } },
      { stores: [] },
      0,
    );
    assert.match(text, /\n {2}n2 +n2-id +alive +no\n/);
    assert.match(text, /\n {2}alpha +CONFLICT - calls refused\n/);
  });

  it('copes with empty and partial bodies from another version of gater', () => {
    const text = renderStatus({ self: { name: 'n1', extraField: { a: 1 }, emptyList: [] } }, {}, 0);
    assert.equal(
      text,
      'This node\n  name         n1\n  extra field  {"a":1}\n  empty list   none\n\nPeers (0)\n  none seen\n\nStores (0)\n  none in the cluster\n',
    );
  });
});
