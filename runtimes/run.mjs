// Entry for Node, Bun and Deno: runs the checks and prints one JSON line for the driver.
import { runChecks } from './check.mjs';

console.log(JSON.stringify(await runChecks()));
