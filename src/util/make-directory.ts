/**
 * Creates a directory and its missing parents without `mkdirSync(path, { recursive: true })`, which never returns
 * where a directory cannot be made under a parent that exists and the error is ENOENT (any path under /proc): Node
 * takes ENOENT to mean the parent is missing, makes the parent (EEXIST, fine) and tries again, forever, at full CPU
 * and deaf to SIGTERM. Here each missing level is made once, so such a path fails at once with the system's error.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `path` and its missing parents; throws the system's error (ENOENT, EACCES, ENOTDIR, ...) naming the level. */
export function makeDirectory(path: string): void {
  const missing: string[] = [];
  for (let dir = resolve(path); statSync(dir, { throwIfNoEntry: false }) === undefined; dir = dirname(dir)) {
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      // Made meanwhile by another process: as good as made here.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) throw err;
    }
  }
  if (missing.length === 0 && !statSync(path).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path });
  }
}
