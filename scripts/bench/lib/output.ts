/**
 * Where a benchmark's figures go: JSON under `.bench/` (gitignored) unless `--out` says otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeReport(path: string, report: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  console.log(`written to ${path}`);
}

/** Wall-clock ms with sub-millisecond precision, comparable across processes of one host. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
