// Every `npx @ittybit-webhooks/cli …` line of the CLI README and the examples' READMEs runs as
// written against a real receiver (bash expands it, so `$URL` and `$(…)` work as in a terminal),
// and answers what its comment says.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { captureIo, startReceiver } from './server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readmes = [
  'packages/cli/README.md',
  ...readdirSync(`${root}examples`, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `examples/${entry.name}/README.md`),
];
const PREFIX = 'npx @ittybit-webhooks/cli ';

/** The command lines of a README's sh blocks, `\` continuations joined. */
function commandLines(text: string): string[] {
  const lines: string[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1]!.replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) {
      // dead-letters lines need a store: dead-letters.test.ts runs them against real ones.
      if (line.startsWith(PREFIX) && !line.startsWith(`${PREFIX}dead-letters `)) lines.push(line);
    }
  }
  return lines;
}

const cases = readmes.flatMap((readme) =>
  commandLines(readFileSync(`${root}${readme}`, 'utf8')).map((line) => ({
    readme,
    line,
    args: line.slice(PREFIX.length).replace(/ +/g, ' '),
  })),
);

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver('whsec_test');
});
afterAll(async () => receiver?.close());

describe('README command lines', () => {
  it('name the scoped package everywhere, never the unscoped one', () => {
    for (const readme of readmes) {
      expect(readFileSync(`${root}${readme}`, 'utf8'), readme).not.toMatch(/npx ittybit-webhooks/);
    }
    expect(cases.length).toBeGreaterThanOrEqual(readmes.length * 2);
  });

  it.each(cases)('$readme: $args', async ({ line }) => {
    // bash expands the arguments as a terminal would; the command itself runs in-process.
    const { stdout: expanded } = await promisify(execFile)(
      'bash',
      ['-c', `printf '%s\\0' ${line.slice(PREFIX.length).replace(/#.*$/, '')}`],
      { env: { PATH: process.env.PATH ?? '', URL: receiver.url }, encoding: 'utf8' },
    );
    const words = expanded
      .split('\0')
      .slice(0, -1)
      .map((word) => word.replace('http://127.0.0.1:3000/webhooks/ittybit', receiver.url));
    const capture = captureIo();
    const code = await runCli([...words, '--backoff-ms', '20'], capture.io);
    const comment = line.match(/#(.*)$/)?.[1] ?? '';
    expect(capture.stderr()).toBe('');
    if (comment.includes('401')) {
      expect(code).toBe(1);
      expect(capture.stdout()).toMatch(/ 401 unauthorized$/m);
    } else {
      expect(code, capture.stdout()).toBe(0);
    }
    if (comment.includes('200 dup')) expect(capture.stdout()).toMatch(/ 200 dup$/m);
  });

  it('the CLI README opens with a command that prints what the README shows', async () => {
    const readme = readFileSync(`${root}packages/cli/README.md`, 'utf8');
    const [first] = commandLines(readme);
    expect(readme.indexOf(first!)).toBeLessThan(readme.indexOf('\n```\n'));
    const words = first!
      .slice(PREFIX.length)
      .split(' ')
      .map((word) => word.replace('http://127.0.0.1:3000/webhooks/ittybit', receiver.url));
    const capture = captureIo();
    expect(await runCli(words, capture.io)).toBe(0);
    const out = capture.stdout();
    expect(out).toMatch(
      /^POST \S+ {2}task\.succeeded evt_\w+ \(task_\w+\) × 2, 1 at a time\n\n#\s+id\s+attempts\s+status\s+latency\s+answers\n/,
    );
    expect(out).toMatch(/^1 +task_\w+ +1 +200 +\d+ ms +200$/m);
    expect(out).toMatch(/^2 +task_\w+ +1 +200 +\d+ ms +200 dup$/m);
    expect(out).toMatch(/\n2 of 2 deliveries ended 2xx\n$/);
  });
});
