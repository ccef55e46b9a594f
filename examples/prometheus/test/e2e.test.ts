import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { exampleSuite, send } from '../../e2e';

// Boots `npm start` (as the README says), drives it with `npx @ittybit-webhooks/cli`'s bin and
// scrapes GET /metrics in the Prometheus text format after each step.
// app.post() mounts the webhook for POST only, so a GET gets Express's own 404.

/** Every sample of a scrape: `name{labels} value`, labels parsed. */
function parse(text: string) {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[name!] = value!;
      }
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

exampleSuite({
  name: 'prometheus',
  get: { status: 404 },
  more: ({ url, logs, exportId }) => {
    const base = () => url().replace(/\/webhooks\/ittybit$/, '');
    const scrape = async () => {
      const res = await fetch(`${base()}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      return parse(await res.text());
    };
    /** The sum of a metric's samples whose labels include `labels`. */
    const total = (
      samples: Awaited<ReturnType<typeof scrape>>,
      name: string,
      labels: Record<string, string> = {},
    ) =>
      samples
        .filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((sum, s) => sum + s.value, 0);
    const deliveries = (samples: Awaited<ReturnType<typeof scrape>>, outcome: string) =>
      total(samples, 'ittybit_webhook_deliveries_total', { ittybit_webhook_outcome: outcome });

    it('/metrics counts each outcome: received, duplicate, forged (401, no topic), by topic', async () => {
      const before = await scrape();
      const id = exportId('metrics');
      expect((await send(url(), '--times', '2', '--metadata', `exportId=${id}`)).code).toBe(0);
      expect((await send(url(), '--topic', 'run.succeeded')).code).toBe(0);
      expect((await send(url(), '--signature', 'cd'.repeat(32))).code).toBe(1);
      const after = await scrape();
      expect(deliveries(after, 'received') - deliveries(before, 'received')).toBe(1);
      expect(deliveries(after, 'duplicate') - deliveries(before, 'duplicate')).toBe(1);
      // A topic with no handler here: acknowledged as unhandled, still counted.
      expect(deliveries(after, 'unhandled') - deliveries(before, 'unhandled')).toBe(1);
      expect(
        total(after, 'ittybit_webhook_deliveries_total', {
          ittybit_webhook_outcome: 'unhandled',
          ittybit_webhook_topic: 'run.succeeded',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(deliveries(after, 'invalid_signature') - deliveries(before, 'invalid_signature')).toBe(
        1,
      );
      for (const sample of after.filter(
        (s) => s.labels.ittybit_webhook_outcome === 'invalid_signature',
      )) {
        expect(sample.labels).toEqual({
          ittybit_webhook_outcome: 'invalid_signature',
          http_response_status_code: '401',
          otel_scope_name: 'webhooks',
        });
      }
      const durations = (samples: Awaited<ReturnType<typeof scrape>>) =>
        total(samples, 'ittybit_webhook_handler_duration_count', {
          ittybit_webhook_handler_result: 'ok',
        });
      expect(durations(after) - durations(before)).toBe(1);
      expect(total(after, 'ittybit_webhook_handler_active')).toBe(0);
    });

    it('a failing handler: 500 handler_failed per attempt, error durations, one dead letter', async () => {
      const before = await scrape();
      const id = exportId('broken').replace(/^exp_/, 'exp_broken_');
      const { code, report } = await send(
        url(),
        ...['--max-attempts', '3', '--metadata', `exportId=${id}`],
      );
      expect(code).toBe(1);
      expect(report.deliveries[0]?.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
      const after = await scrape();
      expect(deliveries(after, 'handler_failed') - deliveries(before, 'handler_failed')).toBe(3);
      expect(
        total(after, 'ittybit_webhook_deliveries_total', {
          ittybit_webhook_outcome: 'handler_failed',
          http_response_status_code: '500',
          ittybit_webhook_topic: 'task.succeeded',
        }),
      ).toBeGreaterThanOrEqual(3);
      const errors = (samples: Awaited<ReturnType<typeof scrape>>) =>
        total(samples, 'ittybit_webhook_handler_duration_count', {
          ittybit_webhook_handler_result: 'error',
        });
      expect(errors(after) - errors(before)).toBe(3);
      // One delivery, three attempts: one dead letter.
      expect(
        total(after, 'ittybit_webhook_dead_letters') -
          total(before, 'ittybit_webhook_dead_letters'),
      ).toBe(1);
      expect(logs()).toContain('Error: database unavailable');
    });

    it("the README's dashboard and alert rules name only metrics and labels this app exports", async () => {
      const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
      const part = readme.slice(readme.indexOf('## A dashboard'));
      const samples = await scrape();
      const names = new Set(samples.map((s) => s.name));
      const labels = new Set(samples.flatMap((s) => Object.keys(s.labels)));
      const used = new Set(part.match(/\bittybit_webhook_\w+/g));
      expect(used.size).toBeGreaterThanOrEqual(6);
      for (const name of used) {
        if (labels.has(name)) continue;
        expect(names, name).toContain(name);
      }
      for (const [, label] of part.matchAll(/[{,]\s*(\w+)\s*(?:=~|!=|=)"/g)) {
        expect(labels, label).toContain(label);
      }
      for (const [, outcome] of part.matchAll(/ittybit_webhook_outcome(?:=~|!=|=)"([\w|]+)"/g)) {
        for (const code of outcome!.split('|')) {
          expect(code).toMatch(
            /^(received|duplicate|unhandled|unknown|method_not_allowed|payload_too_large|body_timeout|missing_signature|invalid_signature|stale_delivery|invalid_payload|store_unavailable|in_progress|handler_failed|body_consumed|internal_error)$/,
          );
        }
      }
    });
  },
});
