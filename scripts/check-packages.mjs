// Runs publint and @arethetypeswrong/cli on every published (non-private) workspace package.
// Needs the packages built (`npm run build`).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => {
    try {
      return !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private;
    } catch {
      return false;
    }
  });

const bin = (name) => join(root, 'node_modules', '.bin', name);
const failures = [];
for (const dir of packages) {
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  for (const [tool, args] of [
    ['publint', [dir, '--strict']],
    // node10 resolution cannot see subpath exports; every supported Node (>= 20) uses node16 rules.
    ['attw', ['--pack', dir, '--profile', 'node16', '--format', 'table-flipped']],
  ]) {
    const run = spawnSync(bin(tool), args, { encoding: 'utf8' });
    const ok = run.status === 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${tool.padEnd(8)} ${name}`);
    if (!ok) {
      failures.push(name);
      console.log(run.stdout, run.stderr);
    }
  }
}
console.log(`${packages.length} packages checked, ${failures.length} failing`);
process.exit(failures.length ? 1 : 0);
