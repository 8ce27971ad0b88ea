/**
 * `health()` against the node's real HTTP server with readiness reports chosen by the test: a node that is not ready
 * answers 503 with its report, and the client hands that report back instead of throwing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import type { HealthReport } from '../../src/http/index.ts';
import { startHarness, type Harness } from '../http/harness.ts';

describe('GaterClient.health', () => {
  let h: Harness;
  let client: GaterClient;
  let report: HealthReport = { live: true, ready: true, checks: {} };

  before(async () => {
    h = await startHarness({ health: () => report });
    client = new GaterClient({}, { url: h.url });
  });
  after(async () => {
    client.close();
    await h.close();
  });

  it('answers the report of a ready node and of one that is not ready', async () => {
    report = { live: true, ready: true, checks: { node: { ok: true, detail: 'running' } } };
    assert.deepEqual(await client.health(), report);

    report = {
      live: true,
      ready: false,
      checks: { node: { ok: true, detail: 'running' }, registry: { ok: false, detail: 'store conflict: default' } },
    };
    assert.deepEqual(await client.health(), report);
  });
});
