// `npm run demo` is the README's main command: keep it answering every case as docs/design.md says.
// It runs the built packages, as on a fresh clone after `npm install`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('prints every case as answered per docs/design.md and exits 0', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, [demo], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The summary line names the doc it checks against; the count is what matters here.
    expect(stdout).toMatch(/^7 of 7 cases answered as \S+ says; server stopped\.$/m);
    for (const row of [
      /^success\s+200\s+onSucceeded ran\s/m,
      /^failure\s+200\s+onFailed ran\s/m,
      /^duplicate\s+200 \| 200 dup\s+onSucceeded ran\s/m,
      /^two concurrent duplicates\s+200 \| 503 (→ 503 )*→ 200 dup\s+onSucceeded ran\s/m,
      /^forged signature\s+401\s+\(not called\)/m,
      /^oversized body \(1\.2 MB\)\s+413\s+\(not called\)/m,
      /^handler fails once\s+500 → 200\s+onSucceeded threw, onSucceeded ran/m,
    ]) {
      expect(stdout).toMatch(row);
    }
    expect(stdout).not.toContain('WRONG');
  }, 60_000);
});
