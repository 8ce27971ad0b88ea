import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDirectory } from '../../src/util/make-directory.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gater-mkdir-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('makeDirectory', () => {
  it('makes a directory with its missing parents, and accepts one that exists', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectory(deep);
    assert.ok(statSync(deep).isDirectory());
    makeDirectory(deep);
    makeDirectory(join(dir, 'a'));
  });

  it('refuses a path through or onto a file with ENOTDIR', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    assert.throws(() => makeDirectory(join(file, 'x')), { code: 'ENOTDIR' });
    assert.throws(() => makeDirectory(file), { code: 'ENOTDIR' });
  });

  it('fails at once where the system cannot make it under a parent that exists (/proc), instead of looping', { skip: existsSync('/proc/self') ? false : 'no /proc' }, () => {
    const started = Date.now();
    assert.throws(() => makeDirectory(`/proc/gater-mkdir-${process.pid}/data`), { code: 'ENOENT' });
    assert.ok(Date.now() - started < 1_000);
  });
});
