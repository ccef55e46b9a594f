/**
 * Global setup of the fault suite: builds core, redis and postgres when their dist is older than
 * their source (the receiver processes import the build; FAULTS_SKIP_BUILD=1 runs on the dist as
 * it is), gives every file a folder for its results, and prints the one table of every fault once
 * all files are done.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './suite.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT = ['core', 'redis', 'postgres'];

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function stale(name: string): boolean {
  const dist = join(root, 'packages', name, 'dist', 'index.js');
  return !existsSync(dist) || statSync(dist).mtimeMs < newest(join(root, 'packages', name, 'src'));
}

function printTable(rows: Row[]): void {
  rows.sort((a, b) => a.order - b.order);
  const lines = rows.map(
    (r) =>
      `| ${r.fault}${r.asserted ? '' : ' (limit, measured)'} | ${r.store} | ${r.tasks} × ${r.copies} | ${r.requests} | ${r.failures} | ${r.runs} | ${r.lost} | ${r.twice} | ${r.rerun} | ${r.evidence} | ${r.seconds} |`,
  );
  const cpu = cpus();
  console.log(
    [
      '',
      `Fault suite, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${process.platform}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}`,
      '',
      '| fault | store | tasks × copies | requests | retried answers | handler runs | lost | run twice | late redelivery ran again | what the fault did | s |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...lines,
      '',
    ].join('\n'),
  );
}

export default function setup(): () => void {
  // Both projects name this setup (so either can run alone); the first one does the work.
  if (process.env.FAULTS_RESULTS) return () => {};
  const stalePackages = BUILT.filter(stale);
  if (stalePackages.length > 0 && process.env.FAULTS_SKIP_BUILD) {
    console.warn(
      `FAULTS_SKIP_BUILD: running on the dist of ${stalePackages.join(', ')}, older than src.`,
    );
  } else if (stalePackages.length > 0) {
    console.log(
      `Building ${stalePackages.join(', ')} (dist older than src) for the receiver processes.`,
    );
    const built = spawnSync(
      'npm',
      ['run', 'build', ...stalePackages.flatMap((name) => ['-w', `@ittybit-webhooks/${name}`])],
      { cwd: root, stdio: 'inherit' },
    );
    if (built.status !== 0) throw new Error(`building ${stalePackages.join(', ')} failed`);
  }
  const results = mkdtempSync(join(tmpdir(), 'ittybit-faults-'));
  // For the test files of every project (the worker processes inherit it).
  process.env.FAULTS_RESULTS = results;
  return () => {
    const rows = readdirSync(results)
      .filter((file) => file.endsWith('.json'))
      .flatMap((file) => JSON.parse(readFileSync(join(results, file), 'utf8')) as Row[]);
    printTable(rows);
    if (!process.env.FAULTS_KEEP) rmSync(results, { recursive: true, force: true });
  };
}
