#!/usr/bin/env node
// The `gater` command. It runs the compiled CLI in dist/ when that is at least as new as every file under src/ (an
// installed package ships no src/ at all), and otherwise the TypeScript sources themselves, which Node 24 runs directly
// by stripping types (it refuses to do so under node_modules, hence dist/ for installed copies). So a checkout works
// without a build, and a stale build is never run by mistake.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const built = join(root, 'dist', 'cli', 'main.js');
const src = join(root, 'src');

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

const useBuilt = existsSync(built) && (!existsSync(src) || statSync(built).mtimeMs >= newestMtimeMs(src));
await import(new URL(useBuilt ? '../dist/cli/main.js' : '../src/cli/main.ts', import.meta.url).href);
