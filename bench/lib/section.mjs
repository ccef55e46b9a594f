// Each section runs in its own process (a fresh heap and JIT), prints its progress and hands its
// result to bench/run.mjs over IPC (or prints it as JSON when run alone).
export async function section(run) {
  try {
    const result = await run();
    if (process.send) process.send({ result }, () => process.exit(0));
    else {
      console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    }
  } catch (error) {
    console.error(error);
    if (process.send) process.send({ error: String(error?.stack ?? error) }, () => process.exit(1));
    else process.exit(1);
  }
}

/** Formats microseconds. */
export const us = (value) => `${value.toFixed(2)} µs`;

/** Formats a ratio with its range: `1.23× (1.10–1.31)`. */
export const ratio = ({ median, min, max }) =>
  `${median.toFixed(2)}× (${min.toFixed(2)}–${max.toFixed(2)})`;
