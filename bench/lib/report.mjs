// BENCHMARKS.md and the SVG chart of the HTTP ratios, from the sections' results.

const x = (value, digits = 2) => `${value.toFixed(digits)}×`;
const range = (s, digits = 2) =>
  `${x(s.median, digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const pct = (s) =>
  `${(s.median * 100).toFixed(0)}% (${(s.min * 100).toFixed(0)}–${(s.max * 100).toFixed(0)})`;
const us = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(v < 10 ? 2 : 1)} µs`);
const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const mark = (ok) => (ok ? 'yes' : '**no**');
const count = (n, word) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const when = (section) => `${section.date}, 1-minute load ${section.load.toFixed(2)}`;

// Tables are padded to their column widths, as the repository's Markdown formatter writes them.
const cellWidth = (text) => [...text].length;
function table(head, rows) {
  const all = [head, ...rows].map((cells) => cells.map(String));
  const widths = head.map((_, c) => Math.max(3, ...all.map((cells) => cellWidth(cells[c] ?? ''))));
  const line = (cells) =>
    `| ${cells.map((cell, c) => cell + ' '.repeat(widths[c] - cellWidth(cell))).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join('\n');
}

function perOne(counts) {
  const parts = Object.entries(counts).map(
    ([name, n]) => `${Number.isInteger(n) ? n : n.toFixed(2)} ${name}`,
  );
  return parts.length ? parts.join(' + ') : '0';
}
const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

function summary(r) {
  const rows = [];
  const p = r.pipeline;
  if (p) {
    const [off, mem] = p.cases;
    rows.push([
      '`handle()` dedup off, vs `createHmac` + `timingSafeEqual` + `JSON.parse`',
      range(off.ratio),
      '≤ 1.2×',
      mark(off.ratio.median <= 1.2),
    ]);
    rows.push([
      '`handle()` with `MemoryStore`, vs the same + a bounded `Set` of event ids',
      range(mem.ratio),
      '≤ 1.5×',
      mark(mem.ratio.median <= 1.5),
    ]);
  }
  const v = r.verify;
  if (v) {
    const worst = Math.max(
      ...v.sizes.map((s) => s.rows.find((row) => row.name === 'receiver.verify()').ratio.median),
    );
    rows.push([
      '`receiver.verify()` (verify + parse), vs the floor, at 1 KB / 64 KB / 1 MB',
      v.sizes
        .map((s) => x(s.rows.find((row) => row.name === 'receiver.verify()').ratio.median))
        .join(' / '),
      '≤ 1.05× at every size',
      mark(worst <= 1.05),
    ]);
    const webWorst = Math.max(...v.web.map((w) => w.ratio.median));
    rows.push([
      'Web Crypto verify on Node, vs a bare `subtle.verify` (same cached key), 1 KB / 64 KB / 1 MB',
      v.web.map((w) => x(w.ratio.median)).join(' / '),
      '≤ 1.05×',
      mark(webWorst <= 1.05),
    ]);
  }
  const h = r.http;
  if (h) {
    for (const f of h.frameworks) {
      rows.push([
        `HTTP, ${f.label}: req/s and p99 vs a hand-written route`,
        `${pct(f.rps)}; p99 ${range(f.p99)}${f.cpu ? `; server CPU per request ${range(f.cpu)}` : ''}`,
        '≥ 95%; p99 ≤ 1.2×',
        mark(f.rps.median >= 0.95 && f.p99.median <= 1.2),
      ]);
    }
  }
  const s = r.stores;
  if (s) {
    const redis = s.stores.find((st) => st.label.startsWith('Redis'));
    if (redis) {
      rows.push([
        'Redis commands (round trips) per fresh delivery / per duplicate',
        `${sum(redis.perFresh).toFixed(2)} / ${sum(redis.perDuplicate).toFixed(2)}`,
        '≤ 2 / 1',
        mark(sum(redis.perFresh) <= 2.005 && sum(redis.perDuplicate) <= 1.005),
      ]);
    }
    const pg = s.stores.find((st) => st.label.startsWith('PostgreSQL'));
    if (pg) {
      rows.push([
        'PostgreSQL statements per fresh delivery / per duplicate',
        `${sum(pg.perFresh).toFixed(2)} / ${sum(pg.perDuplicate).toFixed(2)}`,
        '≤ 2 / 1',
        mark(sum(pg.perFresh) <= 2.005 && sum(pg.perDuplicate) <= 1.005),
      ]);
    }
  }
  return table(['measure', 'ours / reference: median (range)', 'target', 'met'], rows);
}

function pipelineSection(p) {
  const lines = [`## 1. The pipeline: \`handle()\` vs the floor`, ''];
  lines.push(
    `${p.bytes}-byte signed \`task.succeeded\` deliveries, each call a delivery the store has not seen (a pool of ${p.pool.toLocaleString('en-US')}, three times the 10,000 keys both stores keep). The floor is the hand-written check: \`createHmac('sha256')\` over the raw bytes, \`timingSafeEqual\`, \`JSON.parse\`; for the \`MemoryStore\` the floor also records the event id in a \`Set\` bounded to the last 10,000 ids by a ring (not a \`Map\` trimmed with \`keys().next()\`, which is slow in V8: see the notes). ${count(p.pairs, 'interleaved pair')} of ${count(p.calls, 'call')} each, the side that goes first alternating from pair to pair; the ratio is ours / floor per pair. Times are the CPU time of the process per call (user + system, every thread, GC included), so other work on the machine counts against neither side. ${when(p)}.`,
    '',
  );
  lines.push(
    table(
      ['case', 'ours', 'floor', 'ratio: median (range)'],
      p.cases.map((c) => [`${c.name} vs ${c.floor}`, us(c.oursUs), us(c.theirsUs), range(c.ratio)]),
    ),
  );
  lines.push('', 'Allocation (JS heap; Buffer contents are outside it) and GC, per delivery:', '');
  lines.push(
    table(
      ['case', 'allocated per delivery', 'GC pause per delivery', 'heap kept after a full GC'],
      p.allocs.map((a) => [
        a.name,
        kb(a.bytesPerCall),
        us(a.gcPauseUsPerCall),
        mb(a.heapAfterGcBytes),
      ]),
    ),
  );
  if (!p.freshOk) lines.push('', '**Warning:** not every delivery of the run was fresh.');
  return lines.join('\n');
}

function verifySection(v) {
  const lines = [`## 2. Verify + parse, side by side with other webhook libraries`, ''];
  lines.push(
    `Each library checks its own signature scheme over the same body (a \`Buffer\`, as HTTP frameworks give it) and returns the parsed JSON: \`@octokit/webhooks-methods\` \`verify\` (then \`JSON.parse\`, which it leaves to you), \`standardwebhooks\` and \`svix\` \`Webhook#verify\`, \`stripe\` \`webhooks.constructEvent\`. Every row is interleaved with the floor (\`createHmac\` + \`timingSafeEqual\` + \`JSON.parse\`), ${count(v.pairs, 'pair')} of batches of about ${v.batchMs} ms of CPU time (as in section 1); ratio = row / floor, so below 1 is faster than the hand-written check. ${when(v)}.`,
    '',
  );
  const names = v.sizes[0].rows.map((row) => row.name);
  lines.push(
    table(
      ['', ...v.sizes.map((s) => `${s.label} (${s.bytes.toLocaleString('en-US')} B)`)],
      [
        ['floor', ...v.sizes.map((s) => us(s.rows[0].floorUs))],
        ...names.map((name) => [
          name,
          ...v.sizes.map((s) => {
            const row = s.rows.find((r) => r.name === name);
            return `${us(row.us)}, ${range(row.ratio)}`;
          }),
        ]),
      ],
    ),
  );
  lines.push(
    '',
    "Web Crypto on Node: core's Web Crypto implementation (what Deno, Bun and Workers run) vs a bare `crypto.subtle.verify` with the same cached `CryptoKey`:",
    '',
  );
  lines.push(
    table(
      ['size', 'core', 'bare subtle.verify', 'ratio: median (range)'],
      v.web.map((w) => [w.label, us(w.us), us(w.bareUs), range(w.ratio)]),
    ),
  );
  return lines.join('\n');
}

function httpSection(h) {
  const lines = [`## 3. HTTP: each adapter vs a hand-written route in the same framework`, ''];
  lines.push(
    `autocannon (programmatic API), ${h.connections} connections, ${h.bytes}-byte signed deliveries generated beforehand, each request the next delivery (every request is one the server has not seen; checked against the server's own count). Each server runs alone in its own process; the load generator is this process. The hand-written route reads the raw body the framework's usual way, checks the HMAC (\`createHmac\` + \`timingSafeEqual\`), parses, records the event id in a \`Set\` bounded to the last 10,000 ids and answers 200 with the same JSON body, \`{"received":true}\`, through the framework's JSON reply (Express \`express.raw()\` + \`res.json()\`; Fastify a buffer content-type parser + returning the object; Koa \`raw-body\` + \`ctx.body\`; Hono \`c.req.arrayBuffer()\` + \`c.json()\`). The adapter runs \`createReceiver\` with its default \`MemoryStore\`. After ${h.warmupSeconds} s of warm-up each, ${count(h.runs, 'run')} of two ${h.roundSeconds} s rounds, one of each (which goes first alternates from run to run, so that a drift in the machine's speed does not always count against the same side); each run gives one req/s ratio, one p99 ratio (p99 from every response's latency, at microsecond resolution) and one ratio of the server's CPU time per answered request (the cost of a request whatever else the machine was doing; 1.05× is the CPU side of the 95% req/s target). The load generator runs on the same machine: when the two processes share the CPU, its own cost per request (the same for both routes) pulls the req/s ratio towards 1, which the CPU ratio does not. ${when(h)}.`,
    '',
    '![HTTP ratios](bench/http-ratios.svg)',
    '',
  );
  lines.push(
    table(
      [
        'framework',
        'req/s, ours / hand-written',
        'p99, ours / hand-written',
        'server CPU per request, ours / hand-written',
        'ours: req/s, p50, p99, CPU per request',
        'hand-written: req/s, p50, p99, CPU per request',
        'load',
      ],
      h.frameworks.map((f) => {
        const med = (pick) => {
          const values = f.runs.map(pick).sort((a, b) => a - b);
          return values[values.length >> 1];
        };
        return [
          f.label,
          pct(f.rps),
          range(f.p99),
          range(f.cpu),
          `${f.ours.rps.toFixed(0)}, ${med((r) => r.ours.p50).toFixed(2)} ms, ${f.ours.p99.toFixed(2)} ms, ${us(f.ours.cpuUs)}`,
          `${f.hand.rps.toFixed(0)}, ${med((r) => r.hand.p50).toFixed(2)} ms, ${f.hand.p99.toFixed(2)} ms, ${us(f.hand.cpuUs)}`,
          f.load.toFixed(2),
        ];
      }),
    ),
  );
  const cpu = h.frameworks.map((f) => {
    const values = f.runs.flatMap((r) => [r.ours, r.hand]);
    const server = Math.min(...values.map((v) => v.serverCpu));
    const client = Math.max(...values.map((v) => v.clientCpu));
    return `${f.label}: server ≥ ${(server * 100).toFixed(0)}%, load generator ≤ ${(client * 100).toFixed(0)}%`;
  });
  lines.push(
    '',
    `CPU use during the rounds (one core = 100%): ${cpu.join('; ')}. A server near 100% is the bottleneck, as it should be.`,
  );
  // Older results.json files have no allocation counts.
  const allocated = h.frameworks.filter((f) => f.ours.allocatedBytes !== undefined);
  if (allocated.length) {
    const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
    lines.push(
      '',
      `JS heap allocated by the server per answered request (median over the runs; V8's GC profiler in the server process: what the heap grew by plus what each GC freed; Buffer contents are outside the heap), and its garbage collections per 1,000 requests: ${allocated
        .map(
          (f) =>
            `${f.label}: ours ${kb(f.ours.allocatedBytes)} (${f.ours.gcsPerKilo.toFixed(2)} GCs), hand-written ${kb(f.hand.allocatedBytes)} (${f.hand.gcsPerKilo.toFixed(2)})`,
        )
        .join(
          '; ',
        )}. Each byte allocated is work for the garbage collector, whose parallel scavenges run on V8's helper threads and count in the CPU time above but not in instruction counts.`,
    );
  }
  const notFresh = h.frameworks.filter((f) =>
    f.runs.some((r) => r.ours.freshPerOk < 0.999 || r.hand.freshPerOk < 0.999),
  );
  if (notFresh.length) {
    lines.push(
      '',
      `**Warning:** some 200 answers were not fresh deliveries in ${notFresh.map((f) => f.label).join(', ')}.`,
    );
  }
  const different = h.frameworks.filter((f) => !f.sameBody);
  if (different.length) {
    lines.push(
      '',
      `**Warning:** the two routes answered different bodies in ${different.map((f) => f.label).join(', ')}.`,
    );
  }
  return lines.join('\n');
}

function storesSection(s) {
  const lines = [`## 4. Stores: round trips and latency`, ''];
  lines.push(
    `One delivery at a time through \`handle()\` with the store, on the local server. Redis: every command the server received from the store's connection, seen with \`MONITOR\`; PostgreSQL: every statement the store sent (\`pool.query\` calls, one round trip each). Counted over ${s.counted} fresh deliveries and then the same ${s.counted} again (duplicates). Latency: ${count(s.pairs, 'interleaved pair')} of ${s.calls} fresh deliveries against a hand-written route on the same server doing one round trip (HMAC + \`JSON.parse\` + \`SET key 1 PX ttl NX\` / \`INSERT ... ON CONFLICT DO NOTHING\`); the exactly-once pipeline needs a claim and a completion, so its floor is about one round trip more. ${when(s)}.`,
    '',
  );
  lines.push(
    table(
      [
        'store',
        'per fresh delivery',
        'per duplicate',
        'handle(), fresh',
        'handle(), duplicate',
        'hand-written, 1 round trip',
        'ratio',
        'one bare round trip',
      ],
      s.stores.map((st) => [
        st.label,
        perOne(st.perFresh),
        perOne(st.perDuplicate),
        us(st.handleUs),
        us(st.duplicateUs),
        us(st.floorUs),
        range(st.ratio),
        us(st.roundTripUs),
      ]),
    ),
  );
  return lines.join('\n');
}

function memorySection(m) {
  const lines = [`## 5. Memory per 10,000 keys`, ''];
  lines.push(
    `Heap kept after a full GC once ${m.keys.toLocaleString('en-US')} distinct deliveries went through \`handle()\` with a \`MemoryStore\`, scaled to 10,000 keys; against the hand-written bounded \`Set\` of event ids. Then ${m.many.toLocaleString('en-US')} distinct deliveries, to show the bound (\`maxEntries\`, 10,000 by default). ${when(m)}.`,
    '',
  );
  lines.push(
    table(
      ['', 'per 10,000 keys', 'per key', `after ${m.many.toLocaleString('en-US')} deliveries`],
      [
        [
          '`MemoryStore`',
          mb(m.memoryStore.per10k),
          `${(m.memoryStore.per10k / 10_000).toFixed(0)} B`,
          `${m.memoryStoreMany.keys.toLocaleString('en-US')} keys, ${mb(m.memoryStoreMany.bytes)}`,
        ],
        [
          'hand-written `Set`',
          mb(m.handMap.per10k),
          `${(m.handMap.per10k / 10_000).toFixed(0)} B`,
          `${m.handMapMany.keys.toLocaleString('en-US')} keys, ${mb(m.handMapMany.bytes)}`,
        ],
        ['ratio', x(m.ratio), '', ''],
      ],
    ),
  );
  return lines.join('\n');
}

export const NOTES_MARKER = '<!-- notes: kept when the bench rewrites this file -->';

/** The whole BENCHMARKS.md. `notes` is what stood below the marker before, kept as it was. */
export function markdown(results, machine, notes) {
  const parts = [
    '# Benchmarks',
    '',
    'Side by side, on one machine, in one run: the receiver against what you would write by hand (the floor), against other webhook libraries, and each adapter against a hand-written route in the same framework. Every number below is a ratio taken within one run (absolute times depend on the machine); where a comparison was repeated, the median and the range over the repetitions are shown. These are measurements, not tests: nothing here fails a build.',
    '',
    'Rerun it: `npm run bench` (builds the packages, about 8 minutes, needs Redis and PostgreSQL on 127.0.0.1 for section 4). `BENCH_QUICK=1` runs everything small in under a minute (CI runs that, only to check that the bench still works; it writes to a temporary folder, not to this file). `BENCH_SECTIONS=http,stores` reruns some sections and keeps the others from `bench/results.json`. Measure on a quiet machine: the bench prints the 1-minute load average before each section, and `BENCH_WAIT_QUIET=300` waits up to 300 s for it to fall below 1.0.',
    '',
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpus} × ${machine.cpu}`],
        ['memory', `${(machine.memory / 2 ** 30).toFixed(1)} GiB`],
        ['OS', machine.os],
        ['Node.js', machine.node],
        ['commit', machine.commit],
        ['date', machine.date],
        ['1-minute load at the start', machine.load.toFixed(2)],
      ],
    ),
    '',
    '## Summary',
    '',
    summary(results),
  ];
  if (results.pipeline) parts.push('', pipelineSection(results.pipeline));
  if (results.verify) parts.push('', verifySection(results.verify));
  if (results.http) parts.push('', httpSection(results.http));
  if (results.stores) parts.push('', storesSection(results.stores));
  if (results.memory) parts.push('', memorySection(results.memory));
  parts.push('', NOTES_MARKER, notes ? notes.replace(/^\n+/, '') : '\n## Notes\n');
  return `${parts.join('\n').trimEnd()}\n`;
}

const xml = (text) =>
  String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A small SVG of the HTTP ratios: req/s, p99 and server CPU per request (ours / hand-written,
 * median with the range over the runs), one row per framework, with 1.0 and the target marked.
 */
export function httpChart(http) {
  const rows = http.frameworks;
  const labelW = 250;
  const panelW = 220;
  const valueW = 56;
  const gap = 24;
  const rowH = 34;
  const top = 84;
  const panels = [
    { title: 'req/s (higher is better)', key: 'rps', max: 1.5, target: 0.95, unit: '%', up: true },
    { title: 'p99 latency (lower is better)', key: 'p99', max: 2, target: 1.2, unit: '×' },
    { title: 'server CPU per request (lower)', key: 'cpu', max: 2, target: 1.05, unit: '×' },
  ].filter((panel) => rows.every((f) => f[panel.key]));
  const width = labelW + panels.length * (panelW + valueW + gap);
  const height = top + rows.length * rowH + 48;
  const label = (panel, v) =>
    panel.unit === '%' ? `${(v * 100).toFixed(0)}%` : `${v.toFixed(2)}×`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="13">`,
    '<title>HTTP: ittybit-webhooks adapters / a hand-written route in the same framework</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#111">ittybit-webhooks adapters / a hand-written route in the same framework</text>`,
    `<text x="12" y="40" fill="#555">median of ${count(http.runs, 'interleaved run')} (bar) and range (line); ${http.connections} connections, ${http.bytes}-byte deliveries; dashed red: target</text>`,
  ];
  rows.forEach((f, i) => {
    const y = top + i * rowH;
    if (i % 2 === 0) {
      out.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" fill="#f6f8fa"/>`);
    }
    out.push(`<text x="12" y="${y + 21}" fill="#111">${xml(f.label)}</text>`);
  });
  panels.forEach((panel, p) => {
    const x0 = labelW + p * (panelW + valueW + gap);
    const scale = (v) => x0 + (Math.min(Math.max(v, 0), panel.max) / panel.max) * panelW;
    const bottom = top + rows.length * rowH;
    out.push(
      `<text x="${x0}" y="${top - 10}" font-weight="600" fill="#111">${xml(panel.title)}</text>`,
    );
    for (const tick of [0, 0.5, 1, 1.5, 2].filter((t) => t <= panel.max)) {
      const tx = scale(tick);
      out.push(
        `<line x1="${tx}" y1="${top}" x2="${tx}" y2="${bottom}" stroke="${tick === 1 ? '#444' : '#ddd'}" stroke-width="1"/>`,
        `<text x="${tx}" y="${bottom + 16}" text-anchor="middle" fill="#555" font-size="11">${panel.unit === '%' ? `${tick * 100}%` : `${tick}×`}</text>`,
      );
    }
    const tx = scale(panel.target);
    out.push(
      `<line x1="${tx}" y1="${top}" x2="${tx}" y2="${bottom}" stroke="#d1242f" stroke-dasharray="4 3" stroke-width="1.5"/>`,
      `<text x="${tx}" y="${bottom + 32}" text-anchor="middle" fill="#d1242f" font-size="11">${label(panel, panel.target)}</text>`,
    );
    rows.forEach((f, i) => {
      const s = f[panel.key];
      const y = top + i * rowH;
      const good = panel.up ? s.median >= panel.target : s.median <= panel.target;
      out.push(
        `<rect x="${x0}" y="${y + 9}" width="${Math.max(1, scale(s.median) - x0)}" height="16" fill="${good ? '#1a7f37' : '#bf8700'}" opacity="0.85"/>`,
        `<line x1="${scale(s.min)}" y1="${y + 17}" x2="${scale(s.max)}" y2="${y + 17}" stroke="#111" stroke-width="1.5"/>`,
        `<line x1="${scale(s.min)}" y1="${y + 12}" x2="${scale(s.min)}" y2="${y + 22}" stroke="#111" stroke-width="1.5"/>`,
        `<line x1="${scale(s.max)}" y1="${y + 12}" x2="${scale(s.max)}" y2="${y + 22}" stroke="#111" stroke-width="1.5"/>`,
        `<text x="${x0 + panelW + 8}" y="${y + 21}" fill="#111" font-size="12">${label(panel, s.median)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
