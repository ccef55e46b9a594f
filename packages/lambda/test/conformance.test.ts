// The shared conformance cases (packages/conformance) against the Lambda handler behind each kind
// of AWS front: REST API, HTTP API, Function URL, load balancer with and without multi-value
// headers. Same requests, same expected answers and handler calls as every other adapter.
import { createReceiver } from '@ittybit-webhooks/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type Case, type CaseEnv, outcomeFor, view } from '../../conformance/src/case.js';
import { cases } from '../../conformance/src/cases/index.js';
import { SECRET } from '../../conformance/src/deliveries.js';
import { Recorder, recordingOptions, within } from '../../conformance/src/recorder.js';
import { lambdaAdapters } from './bridge.js';
import { KINDS } from './events.js';

/** Cases that do not apply to a Lambda function, and why. Every other case runs. */
function notApplicable(c: Case): string | undefined {
  if (c.start?.parsedFirst) {
    return 'no body parser runs before a Lambda handler (an event whose body was parsed into an object: lambda.test.ts, 500 body_consumed)';
  }
  if (c.options?.(new Recorder()).respond === 'immediately') {
    return "respond: 'immediately' is refused at creation on Lambda (lambda.test.ts)";
  }
  if (/refused before reading|counted while reading|bodyTimeoutMs/i.test(c.name)) {
    return 'the AWS front reads the whole request before it invokes the function: an unfinished or slow body never reaches it (bodies over maxBodyBytes are 413 with and without Content-Length: lambda.test.ts)';
  }
  return undefined;
}

const adapters = lambdaAdapters(KINDS);
const skipped = new Map<string, string>();
let passed = 0;

afterAll(() => {
  const lines = [...skipped].map(([name, why]) => `  - ${name}: ${why}`);
  console.log(
    `\nConformance on Lambda: ${passed} of ${(cases.length - skipped.size) * adapters.length} runs passed (${cases.length - skipped.size} cases x ${adapters.length} kinds of front)\nnot applicable:\n${lines.join('\n')}\n`,
  );
});

describe.each(adapters)('$name', (adapter) => {
  for (const c of cases) {
    const why = notApplicable(c);
    if (why) {
      skipped.set(c.name, why);
      continue;
    }
    it(c.name, async () => {
      const outcome = outcomeFor(c, adapter);
      const rec = new Recorder();
      const options = { ...recordingOptions(rec, SECRET), ...c.options?.(rec) };
      const receiver = c.readyReceiver ? createReceiver(options) : undefined;
      const server = await adapter.start(receiver ?? options, c.start ?? {});
      try {
        const env: CaseEnv = { url: server.url, rec, receiver, adapter, sent: [] };
        const answers = await c.send(env);
        expect(answers.map((a, i) => view(a, outcome.answers[i] ?? outcome.answers[0]!))).toEqual(
          outcome.answers,
        );
        expect(rec.counts(), 'handler calls').toEqual(outcome.calls);
        await outcome.check?.(env);
        passed += 1;
      } finally {
        await within(server.close(), 5000, `${adapter.name} server did not close within 5 s`);
      }
    });
  }
});
