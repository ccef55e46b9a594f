// `npm run demo` is the README's main command: keep it answering every case as docs/design.md says.
// It runs the built packages, as on a fresh clone after `npm install`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('prints every case, run and topic events included, as docs/design.md answers them, and exits 0', async () => {
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
    expect(stdout).toMatch(/^10 of 10 cases answered as docs\/design\.md says; server stopped\.$/m);
    expect(stdout).toContain(
      'The CLI sends event envelopes by default: {"id":"evt_…","object":"event","kind":<topic>,"data":{…},"created_at":…}',
    );
    const [, eventId, key] =
      stdout.match(/^ {2}ctx\.topic task\.succeeded, ctx\.event\.id (evt_\w+), ctx\.key (\S+) /m) ??
      [];
    expect(eventId).toBeDefined();
    expect(key).toBe(eventId);
    for (const row of [
      /^task\.succeeded event\s+200\s+onSucceeded ran\s/m,
      /^task\.failed event\s+200\s+onFailed ran\s/m,
      /^run\.succeeded event\s+200\s+on\['run\.succeeded'\] ran\s/m,
      /^two task\.updated events\s+200 \| 200\s+on\['task\.updated'\] ran, on\['task\.updated'\] ran\s/m,
      /^redelivered event\s+200 \| 200 dup\s+onSucceeded ran\s/m,
      /^two concurrent duplicates\s+200 \| 503 in_progress (→ 503 in_progress )*→ 200 dup\s+onSucceeded ran\s/m,
      /^forged signature\s+401 unauthorized\s+\(not called\)/m,
      /^signed, not JSON\s+400 invalid_payload\s+\(not called\)/m,
      /^oversized body \(1\.2 MB\)\s+413 payload_too_large\s+\(not called\)/m,
      /^handler fails once\s+500 handler_failed → 200\s+onSucceeded threw, onSucceeded ran/m,
    ]) {
      expect(stdout).toMatch(row);
    }
    expect(stdout).not.toMatch(/onSucceeded ran.*run_demo|DESIGN\.md|SENDER\.md/);
    expect(stdout).not.toContain('WRONG');
  }, 60_000);
});
