/**
 * The benchmark's pure figures and rendering (bench/lib): percentile math, ratio rows and their
 * targets, the table in text and Markdown, soak windows, the nginx configs and the fake
 * provider's payloads. No timing anywhere.
 */
import { originConfig, reverseProxyConfig } from '../../bench/lib/nginxConfig';
import { bigStreamEventParts, CHAT_RESPONSE, largeResponseParts, LONG_PROMPT_STREAM_REQUEST, STREAM_CHUNKS, streamEvent, streamTail } from '../../bench/lib/payloads';
import { buildRows, type BenchResults } from '../../bench/lib/results';
import { roundOrder, splitAcrossRounds } from '../../bench/lib/rounds';
import { streamStartOffsets } from '../../bench/lib/streamSchedule';
import { compareFirstLast, isStreamRequest, soakWindows, windowSeconds, type SoakRequest, type SoakSample } from '../../bench/lib/soakReport';
import { sentAtMs } from '../../bench/lib/sseEvents';
import { difference, median, percentile, ratio, summarize } from '../../bench/lib/stats';
import { addedRow, formatNumber, renderMarkdown, renderText, valueRow, verdict } from '../../bench/lib/table';
import type { WrkResult } from '../../bench/lib/wrk';

describe('percentiles', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, index) => index + 1);

  it.each([
    [[], 50, undefined],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 100, 4],
    [oneToHundred, 99, 99.01],
    [oneToHundred, 50, 50.5],
  ])('of %j at p%d is %p', (sorted, p, expected) => {
    const value = percentile(sorted, p);
    if (expected === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(expected, 9);
  });

  it('refuses a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('summarises unsorted samples and says nothing of none', () => {
    expect(summarize([3, 1, 2])).toEqual({ count: 3, min: 1, mean: 2, p50: 2, p90: 2.8, p99: 2.98, max: 3 });
    expect(summarize([])).toBeUndefined();
    expect(median([5, 1, 3])).toBe(3);
  });

  it('has no ratio to nothing and no difference from nothing', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(difference(3, 2)).toBe(1);
    expect(difference(3, undefined)).toBeUndefined();
  });
});

describe('table rows', () => {
  it('gives a figure as ratios to direct and to nginx', () => {
    const row = valueRow('s', 'requests per second', 'req/s', { direct: 40_000, sidecar: 10_000, nginx: 20_000 }, { op: '>=', value: 8_000 });
    expect(row).toMatchObject({ vsDirect: 0.25, vsNginx: 0.5 });
    expect(verdict(row)).toBe('ok');
    expect(verdict({ ...row, sidecar: 7_999 })).toBe('MISS');
  });

  it('gives added figures over direct, and the sidecar added over nginx added and over the bare forwarder added', () => {
    const row = addedRow('s', 'added latency p50', 'ms', { direct: 0.1, sidecar: 0.3, nginx: 0.15, bare: 0.2 }, { op: '<=', value: 0.25 });
    expect(row.direct).toBeUndefined();
    expect(row.sidecar).toBeCloseTo(0.2, 9);
    expect(row.nginx).toBeCloseTo(0.05, 9);
    expect(row.bare).toBeCloseTo(0.1, 9);
    expect(row.vsDirect).toBeCloseTo(2, 9);
    expect(row.vsNginx).toBeCloseTo(4, 9);
    expect(row.vsBare).toBeCloseTo(2, 9);
    expect(verdict(row)).toBe('ok');
  });

  it('gives a figure as a ratio to the bare Node forwarder, and none when that path was not measured', () => {
    expect(valueRow('s', 'requests per second', 'req/s', { sidecar: 15_000, bare: 20_000 }).vsBare).toBeCloseTo(0.75, 9);
    expect(valueRow('s', 'requests per second', 'req/s', { sidecar: 15_000 }).vsBare).toBeUndefined();
  });

  it('has no verdict without a target or a sidecar figure', () => {
    expect(verdict(valueRow('s', 'x', 'ms', { direct: 1 }))).toBe('');
    expect(verdict(valueRow('s', 'x', 'ms', { direct: 1 }, { op: '<=', value: 1 }))).toBe('');
  });

  it.each([
    [undefined, '—'],
    [Number.NaN, '—'],
    [0, '0'],
    [0.0234, '0.023'],
    [1.234, '1.23'],
    [12.34, '12.3'],
    [123.4, '123'],
    [39731.2, '39,731'],
    [-1.5, '-1.50'],
  ])('formats %p as %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });

  const rows = [
    valueRow('plain JSON', 'latency p50', 'ms', { direct: 0.023, sidecar: 0.69, nginx: 0.082, bare: 0.345 }),
    addedRow('plain JSON', 'added latency p50', 'ms', { direct: 0.023, sidecar: 0.69, nginx: 0.082, bare: 0.345 }, { op: '<=', value: 0.25 }),
    valueRow('resources', 'RSS idle | start + 2 s', 'MiB', { sidecar: 60, nginx: 8 }, { op: '<=', value: 70 }),
  ];

  it('renders a terminal table with sections and right-aligned numbers', () => {
    const lines = renderText(rows).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^figure\s+unit\s+direct\s+sidecar\s+nginx\s+bare node\s+sidecar\/direct\s+sidecar\/nginx\s+sidecar\/bare\s+target$/);
    expect(lines[2]).toBe('[plain JSON]');
    expect(lines[4]).toContain('<= 0.250 MISS');
    expect(lines[5]).toBe('[resources]');
    expect(lines[6]).toContain('<= 70.0 ok');
    const sidecarColumn = lines[0]?.indexOf('sidecar') ?? -1;
    const end = sidecarColumn + 'sidecar'.length;
    expect(lines[3]?.slice(sidecarColumn, end).trim()).toBe('0.690');
  });

  it('renders a Markdown table per section, escaping pipes', () => {
    const markdown = renderMarkdown(rows);
    expect(markdown.match(/^### /gm)).toHaveLength(2);
    expect(markdown).toContain('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
    expect(markdown).toContain('| RSS idle \\| start + 2 s | MiB | — | 60.0 | 8.00 | — | — | 7.50x | — | <= 70.0 ok |');
    expect(markdown).toContain('| added latency p50 | ms | — | 0.667 | 0.059 | 0.322 | 29.00x | 11.31x | 2.07x | <= 0.250 MISS |');
  });
});

describe('rows from a run', () => {
  const wrk = (requestsPerSec: number, p50: number, p99: number): WrkResult => ({
    requests: requestsPerSec * 10,
    durationS: 10,
    requestsPerSec,
    bytes: 0,
    errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
    latencyMs: { mean: p50, max: p99, p50, p75: p50, p90: p99, p99 },
    source: 'lua',
  });
  const results: BenchResults = {
    meta: {},
    json: [
      { path: 'direct', connections: 16, round: 0, wrk: wrk(40_000, 0.3, 1), cpuMsPer1k: 12 },
      { path: 'sidecar', connections: 16, round: 0, wrk: wrk(9_000, 1.5, 3), cpuMsPer1k: 200, cpuSystemShare: 0.25 },
      { path: 'nginx', connections: 16, round: 0, wrk: wrk(20_000, 0.7, 2), cpuMsPer1k: 30 },
      { path: 'bare', connections: 16, round: 0, wrk: wrk(12_000, 1.2, 2.5), cpuMsPer1k: 150 },
      // Three rounds at 1 connection; the second is a noisy one for the sidecar.
      { path: 'direct', connections: 1, round: 0, wrk: wrk(10_000, 0.08, 0.2) },
      { path: 'sidecar', connections: 1, round: 0, wrk: wrk(4_000, 0.2, 0.6) },
      { path: 'nginx', connections: 1, round: 0, wrk: wrk(9_000, 0.1, 0.3) },
      { path: 'direct', connections: 1, round: 1, wrk: wrk(10_000, 0.08, 0.4) },
      { path: 'sidecar', connections: 1, round: 1, wrk: wrk(3_000, 0.3, 4.4) },
      { path: 'nginx', connections: 1, round: 1, wrk: wrk(9_000, 0.1, 0.5) },
      { path: 'direct', connections: 1, round: 2, wrk: wrk(10_000, 0.08, 0.3) },
      { path: 'sidecar', connections: 1, round: 2, wrk: wrk(4_000, 0.25, 0.7) },
      { path: 'nginx', connections: 1, round: 2, wrk: wrk(9_000, 0.1, 0.45) },
    ],
    timedLoops: [
      { path: 'direct', round: 0, requestsPerSec: 30_000, p50Ms: 0.03, p99Ms: 0.05 },
      { path: 'sidecar', round: 0, requestsPerSec: 8_000, p50Ms: 0.11, p99Ms: 0.4 },
      { path: 'direct', round: 1, requestsPerSec: 31_000, p50Ms: 0.03, p99Ms: 0.07 },
      { path: 'sidecar', round: 1, requestsPerSec: 7_000, p50Ms: 0.12, p99Ms: 3.5 },
      { path: 'direct', round: 2, requestsPerSec: 29_000, p50Ms: 0.03, p99Ms: 0.06 },
      { path: 'sidecar', round: 2, requestsPerSec: 8_500, p50Ms: 0.1, p99Ms: 0.45 },
    ],
    streams: {},
    streamCpu: { sidecar: { cpuMs: 180, events: 2_600 }, nginx: { cpuMs: 30, events: 2_600 }, direct: { cpuMs: 5, events: 0 } },
    loneMs: { direct: [0.9, 0.8, 1.0], sidecar: [1.9, 2.0, 1.8, 5.0], nginx: [1.3] },
    loneCpuMs: { direct: [0.2, 0.3, 0.25], sidecar: [1.1, 9.0, 1.3, 1.2], nginx: [0.3] },
    longPromptTtfbMs: { direct: [2.0, 2.2, 2.1], sidecar: [3.0, 3.4, 9.0], bare: [2.9] },
    bigEventMs: { direct: [60, 70, 65], sidecar: [150, 900, 160], nginx: [80] },
    resources: { startupMs: { sidecar: [400, 250, 260], nginx: [20] }, idleRssKb: { sidecar: 60 * 1024 }, idleAnonKb: { sidecar: 14 * 1024, bare: 9 * 1024 }, idleSmaps: {}, peakRssKb: {}, peakAnonKb: { sidecar: 30 * 1024 }, largeAnswers: [{ bytes: 10 * 1024 * 1024, growthKb: { sidecar: 2048, nginx: 0 } }] },
    exports: { requests: 1, bytes: 1 },
    problems: [],
  };
  const rows = buildRows(results);
  const find = (section: string, label: string) => rows.find((row) => row.section.startsWith(section) && row.label === label);

  it('checks throughput at 16 connections against the 8,000 req/s target', () => {
    const row = find('plain JSON, 16 connections', 'requests per second');
    expect(row).toMatchObject({ direct: 40_000, sidecar: 9_000, nginx: 20_000, bare: 12_000, vsDirect: 0.225, vsNginx: 0.45, vsBare: 0.75 });
    expect(verdict(row!)).toBe('ok');
  });

  it('uses the median startup and labels large answers by size', () => {
    expect(find('resources', 'startup to ready (median)')).toMatchObject({ sidecar: 260, nginx: 20 });
    expect(find('resources', 'RSS growth passing a 10 MiB answer')).toMatchObject({ sidecar: 2, nginx: 0 });
    expect(find('resources', 'CPU per 1,000 requests at 16 conns (direct: origin)')).toMatchObject({ direct: 12, sidecar: 200, nginx: 30 });
    expect(find('resources', 'of which kernel (system) time')).toMatchObject({ direct: undefined, sidecar: 25 });
  });

  it('shows the anonymous part of memory beside RSS, idle and at peak', () => {
    const idle = find('resources', 'anonymous memory idle (RssAnon: what each further pod adds)');
    expect(idle).toMatchObject({ sidecar: 14, bare: 9, nginx: undefined });
    expect(idle?.vsBare).toBeCloseTo(14 / 9, 9);
    expect(find('resources', 'anonymous memory peak through the load (sampled)')).toMatchObject({ sidecar: 30 });
  });

  it('takes the median over rounds, so one noisy round does not decide a figure', () => {
    expect(find('plain JSON, 1 connection', 'latency p99')).toMatchObject({ direct: 0.3, sidecar: 0.7, nginx: 0.45 });
    expect(find('plain JSON, 1 connection', 'latency p50')).toMatchObject({ sidecar: 0.25 });
    const added = find('plain JSON, 1 connection', 'added latency p99');
    expect(added?.sidecar).toBeCloseTo(0.4, 9);
    expect(verdict(added!)).toBe('ok');
  });

  it('gives the per-request timed 1-connection loop as medians over rounds, apart from the wrk rows and without a target', () => {
    const section = 'plain JSON, timed per request at 1 connection';
    expect(find(section, 'requests per second')).toMatchObject({ direct: 30_000, sidecar: 8_000, nginx: undefined });
    expect(find(section, 'latency p99')).toMatchObject({ direct: 0.06, sidecar: 0.45 });
    const added = find(section, 'added latency p99');
    expect(added?.sidecar).toBeCloseTo(0.39, 9);
    expect(added?.target).toBeUndefined();
    // The wrk rows of the same connection count are still wrk's.
    expect(find('plain JSON, 1 connection (wrk)', 'latency p99')).toMatchObject({ direct: 0.3, sidecar: 0.7 });
  });

  it('shows the worst round too, each round against direct in the same round', () => {
    const worst = find('plain JSON, 1 connection', 'added latency p99, worst round');
    expect(worst?.sidecar).toBeCloseTo(4.0, 9);
    expect(worst?.nginx).toBeCloseTo(0.15, 9);
    expect(worst?.target).toBeUndefined();
  });

  it('gives CPU per 1,000 stream events for the proxies, none where nothing was relayed', () => {
    const row = find('resources', 'CPU per 1,000 stream events relayed');
    expect(row?.sidecar).toBeCloseTo(69.23, 2);
    expect(row?.nginx).toBeCloseTo(11.54, 2);
    expect(row?.direct).toBeUndefined();
  });

  it('gives the main-thread CPU of a lone request as a median per path, one slow request not deciding it', () => {
    const row = find('plain JSON, lone requests', 'main-thread CPU per request p50 (direct: origin)');
    expect(row).toMatchObject({ direct: 0.25, sidecar: 1.25, nginx: 0.3, bare: undefined });
    expect(row?.vsNginx).toBeCloseTo(1.25 / 0.3, 9);
  });

  it('gives long-prompt streams their first-byte p50, added over direct', () => {
    expect(find('streaming, ~200 KiB prompt', 'time to first byte p50')).toMatchObject({ direct: 2.1, sidecar: 3.4, bare: 2.9, nginx: undefined });
    expect(find('streaming, ~200 KiB prompt', 'added time to first byte p50')?.sidecar).toBeCloseTo(1.3, 9);
    expect(find('streaming, ~200 KiB prompt', 'added time to first byte p50')?.bare).toBeCloseTo(0.8, 9);
  });

  it('gives big-event streams their last-byte p50, added over direct', () => {
    expect(find('streaming, one 3 MiB event', 'time to last byte p50')).toMatchObject({ direct: 65, sidecar: 160, nginx: 80, bare: undefined });
    expect(find('streaming, one 3 MiB event', 'added time to last byte p50')).toMatchObject({ sidecar: 95, nginx: 15 });
  });

  it('gives lone requests as percentiles of every latency, added over direct', () => {
    expect(find('plain JSON, lone requests', 'latency p50')).toMatchObject({ direct: 0.9, sidecar: 1.95, nginx: 1.3 });
    expect(find('plain JSON, lone requests', 'added latency p50')?.sidecar).toBeCloseTo(1.05, 9);
    expect(find('plain JSON, lone requests', 'added latency p50')?.nginx).toBeCloseTo(0.4, 9);
  });

  it('leaves what was not measured empty instead of zero', () => {
    const p50 = find('plain JSON, 64 connections', 'latency p50');
    expect(p50?.sidecar).toBeUndefined();
    expect(verdict(find('plain JSON, 16 connections', 'added latency p99')!)).toBe('');
    expect(find('streaming', 'time to first byte p50')?.sidecar).toBeUndefined();
  });
});

describe('rounds and stream schedule', () => {
  it('rotates the paths one place per round', () => {
    expect([0, 1, 2, 3].map((round) => roundOrder(['direct', 'sidecar', 'nginx'], round))).toEqual([
      ['direct', 'sidecar', 'nginx'],
      ['sidecar', 'nginx', 'direct'],
      ['nginx', 'direct', 'sidecar'],
      ['direct', 'sidecar', 'nginx'],
    ]);
    expect(roundOrder([], 3)).toEqual([]);
  });

  it.each([
    [40, 5, [8, 8, 8, 8, 8]],
    [16, 3, [6, 5, 5]],
    [2, 3, [1, 1, 0]],
    [0, 2, [0, 0]],
  ])('splits %i streams over %i rounds as %j', (total, rounds, expected) => {
    expect(splitAcrossRounds(total, rounds)).toEqual(expected);
  });

  it('refuses to split over no rounds', () => {
    expect(() => splitAcrossRounds(4, 0)).toThrow(RangeError);
  });

  it.each([1, 3, 5, 8, 16, 64])('starts %i workers spread over a stream, each at its own phase of the pacing', (concurrency) => {
    const offsets = streamStartOffsets(concurrency, 1280, 20);
    expect(offsets).toHaveLength(concurrency);
    const phases = offsets.map((offset) => Math.round((offset % 20) * 1000));
    expect(new Set(phases).size).toBe(concurrency);
    for (const [worker, offset] of offsets.entries()) {
      // Within one pacing interval of an even spread over the stream's length.
      expect(Math.abs(offset - (worker * 1280) / concurrency)).toBeLessThan(20);
    }
  });
});

describe('soak windows', () => {
  it('spreads streams evenly over the requests', () => {
    const streams = Array.from({ length: 100 }, (_, index) => isStreamRequest(index, 0.1)).filter(Boolean);
    expect(streams).toHaveLength(10);
    expect(isStreamRequest(0, 0)).toBe(false);
    expect(isStreamRequest(5, 1)).toBe(true);
  });

  it('uses minutes, or thirds of a short soak', () => {
    expect(windowSeconds(300)).toBe(60);
    expect(windowSeconds(30)).toBe(10);
  });

  it('groups requests and samples and compares the last window with the first', () => {
    const requests: SoakRequest[] = [
      { atS: 1, kind: 'plain', ok: true, ms: 2 },
      { atS: 2, kind: 'stream', ok: true, ms: 5, maxGapMs: 21 },
      { atS: 3, kind: 'plain', ok: false },
      { atS: 170, kind: 'plain', ok: true, ms: 4 },
      { atS: 175, kind: 'plain', ok: false, skipped: true },
    ];
    const samples: SoakSample[] = [
      { atS: 0, rssKb: 100 * 1024, fds: 40, healthzMs: 1 },
      { atS: 60, rssKb: 110 * 1024, fds: 41, healthzMs: 1 },
      { atS: 180, rssKb: 130 * 1024, fds: 45, healthzMs: 3 },
    ];
    const windows = soakWindows(requests, samples, 180);
    expect(windows.map((window) => [window.fromS, window.toS, window.requests, window.failures, window.skipped])).toEqual([
      [0, 60, 3, 1, 0],
      [60, 120, 0, 0, 0],
      [120, 180, 2, 0, 1],
    ]);
    expect(windows[0]?.streamMaxGapMs).toBe(21);
    expect(windows[0]?.plainMs?.p50).toBe(2);
    // The sample taken exactly at the end belongs to the last window.
    expect(compareFirstLast(windows)).toEqual({ rssMeanGrowthMb: 30, rssMaxGrowthMb: 30, fdsMaxGrowth: 5, healthzP99ChangeMs: 2, plainP99ChangeMs: 2 });
  });
});

describe('nginx configs', () => {
  const base = { dir: '/tmp/b', name: 'nginx-proxy', port: 8080 };

  it('keeps every path in the temp dir and runs in the foreground as one process', () => {
    const config = reverseProxyConfig(base, []);
    expect(config).toContain('daemon off;');
    expect(config).toContain('master_process off;');
    expect(config).toContain('pid /tmp/b/nginx-proxy.pid;');
    expect(config).toContain('error_log /tmp/b/nginx-proxy-error.log warn;');
    expect(config).not.toContain('include');
    expect(config).toContain('listen 127.0.0.1:8080;');
  });

  it('keeps upstream connections alive and streams SSE unbuffered', () => {
    const config = reverseProxyConfig(base, [
      { prefix: '/openai/', upstreamPort: 9001, streaming: false },
      { prefix: '/openai-paced/', upstreamPort: 9002, streaming: true },
    ]);
    expect(config.match(/keepalive 64;/g)).toHaveLength(2);
    expect(config.match(/proxy_http_version 1\.1;/g)).toHaveLength(2);
    expect(config.match(/proxy_set_header Connection "";/g)).toHaveLength(2);
    expect(config.match(/proxy_buffering off;/g)).toHaveLength(1);
    expect(config).toMatch(/location \/openai-paced\/ \{\n\s+proxy_pass http:\/\/backend1\/;[^}]*proxy_buffering off;/);
  });

  it("returns the fixed answer from the origin, refusing text nginx would interpret", () => {
    expect(originConfig(base, CHAT_RESPONSE)).toContain(`return 200 '${CHAT_RESPONSE}';`);
    expect(() => originConfig(base, '{"price":"$1"}')).toThrow();
    expect(() => originConfig(base, "{'a':1}")).toThrow();
  });
});

describe('fake provider payloads', () => {
  it('answers a ~500-byte chat.completion with usage', () => {
    const parsed = JSON.parse(CHAT_RESPONSE) as { object: string; usage: { prompt_tokens: number } };
    expect(parsed.object).toBe('chat.completion');
    expect(parsed.usage.prompt_tokens).toBe(24);
    expect(Buffer.byteLength(CHAT_RESPONSE)).toBeGreaterThan(400);
    expect(Buffer.byteLength(CHAT_RESPONSE)).toBeLessThan(700);
  });

  it('sends a long-prompt stream request of about 200 KiB without stream_options, so the sidecar rewrites it', () => {
    const parsed = JSON.parse(LONG_PROMPT_STREAM_REQUEST) as Record<string, unknown>;
    expect(Buffer.byteLength(LONG_PROMPT_STREAM_REQUEST)).toBeGreaterThan(190 * 1024);
    expect(Buffer.byteLength(LONG_PROMPT_STREAM_REQUEST)).toBeLessThan(230 * 1024);
    expect(parsed.stream).toBe(true);
    expect(parsed).not.toHaveProperty('stream_options');
  });

  it('builds a large answer from pieces that join into valid JSON of at least the size asked', () => {
    const { head, filler, fillerCount, tail } = largeResponseParts(1024 * 1024);
    const text = head + filler.repeat(fillerCount) + tail;
    expect(text.length).toBeGreaterThanOrEqual(1024 * 1024);
    expect((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content.length).toBe(filler.length * fillerCount);
  });

  it('builds a big stream event from pieces that join into one SSE event of at least the size asked, usage:null only when asked', () => {
    for (const includeUsage of [false, true]) {
      const { head, filler, fillerCount, tail } = bigStreamEventParts(3 * 1024 * 1024, includeUsage);
      expect(Buffer.byteLength(filler)).toBe(1024);
      expect(fillerCount).toBe(3 * 1024);
      const text = head + filler.repeat(fillerCount) + tail;
      expect(text.startsWith('data: {')).toBe(true);
      expect(text.endsWith('\n\n')).toBe(true);
      expect(text.indexOf('\n')).toBe(text.length - 2);
      const chunk = JSON.parse(text.slice('data: '.length)) as { choices: Array<{ delta: { content: string } }>; usage?: unknown };
      expect(chunk.choices[0]?.delta.content.length).toBe(3 * 1024 * 1024);
      expect('usage' in chunk).toBe(includeUsage);
      if (includeUsage) expect(chunk.usage).toBeNull();
    }
  });

  it('streams stamped OpenAI chunks, with usage only when the request asked for it', () => {
    const first = streamEvent(0, 12.5, false);
    expect(first.startsWith('data: {')).toBe(true);
    expect(first.endsWith('\n\n')).toBe(true);
    expect(sentAtMs(first)).toBe(12.5);
    expect(first).not.toContain('"usage"');
    expect(streamEvent(1, 1, true)).toContain('"usage":null');
    expect(JSON.parse(streamEvent(STREAM_CHUNKS - 1, 1, false).slice('data: '.length))).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
    expect(streamTail(1, false)).toEqual(['data: [DONE]\n\n']);
    const withUsage = streamTail(1, true);
    expect(withUsage).toHaveLength(2);
    expect(JSON.parse(withUsage[0]!.slice('data: '.length))).toMatchObject({ choices: [], usage: { completion_tokens: STREAM_CHUNKS - 1 } });
  });
});
