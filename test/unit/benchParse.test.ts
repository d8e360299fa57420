/**
 * The benchmark's parsers (bench/lib): wrk's Lua JSON line and text summary, /proc files, SSE
 * framing of timed streams, CPU profiles and command-line options. No timing anywhere.
 */
import { spawn } from 'node:child_process';
import { areaOf, summariseProfile, type CpuProfile } from '../../bench/lib/cpuProfile';
import { OptionsError, parseBenchOptions, parseSoakOptions } from '../../bench/lib/options';
import { conditionsBetween, readConditions } from '../../bench/lib/phaseConditions';
import { parseMachineCpu, parseProcStat, parseProcStatus, parseSchedstat, readMemory, RssSampler, stealShare } from '../../bench/lib/procfs';
import { completeResponse, ResponseFramingError } from '../../bench/lib/responseFraming';
import { sentAtMs, SseEventSplitter, withoutSentTime } from '../../bench/lib/sseEvents';
import { streamFigures, type StreamSample } from '../../bench/lib/streamStats';
import { parseWrkLuaJson, parseWrkOutput, parseWrkText, parseWrkTime, RESULT_MARKER, WrkOutputError, wrkLuaScript } from '../../bench/lib/wrk';
import { startAllocatingChild } from '../helpers/allocatingChild';

/** Recorded from Debian's wrk 4.1.0 running the benchmark's script against the nginx origin. */
const WRK_STDOUT = `Running 2s test @ http://127.0.0.1:41169/v1/chat/completions
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   678.55us    1.13ms  17.90ms   90.72%
    Req/Sec    19.68k     5.88k   34.44k    67.50%
  Latency Distribution
     50%  354.00us
     75%  621.00us
     90%    1.71ms
     99%    5.36ms
  78844 requests in 2.02s, 59.78MB read
Requests/sec:  39073.62
Transfer/sec:     29.62MB
BENCH_WRK_JSON {"requests":78844,"duration_us":2017832,"bytes":62680980,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"latency_us":{"min":26,"mean":678.554,"stdev":1128.448,"max":17902,"p50":354,"p75":621,"p90":1712,"p99":5360,"p999":12066}}
`;

const WRK_TEXT_WITH_ERRORS = `Running 3s test @ http://127.0.0.1:8080/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  250.10us   2.50s    75.00%
    Req/Sec     0.98k    20.00     1.00k    90.00%
  Latency Distribution
     50%  980.00us
     75%    1.10ms
     90%    1.30ms
     99%    2.00ms
  2940 requests in 3.00s, 512.00KB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:    980.00
Transfer/sec:    170.67KB
`;

describe('wrk output', () => {
  it("reads the Lua hook's exact microseconds as milliseconds", () => {
    const result = parseWrkLuaJson(WRK_STDOUT);
    expect(result).toMatchObject({ requests: 78844, bytes: 62680980, source: 'lua' });
    expect(result?.durationS).toBeCloseTo(2.017832, 6);
    expect(result?.requestsPerSec).toBeCloseTo(78844 / 2.017832, 3);
    expect(result?.latencyMs).toEqual({ mean: 0.678554, max: 17.902, p50: 0.354, p75: 0.621, p90: 1.712, p99: 5.36, p999: 12.066 });
    expect(result?.errors).toEqual({ connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  });

  it("reads wrk's text when there is no Lua line, at its printed resolution", () => {
    const text = WRK_STDOUT.split('\n').filter((line) => !line.startsWith(RESULT_MARKER)).join('\n');
    const result = parseWrkText(text);
    expect(result).toMatchObject({ requests: 78844, requestsPerSec: 39073.62, source: 'text' });
    expect(result?.durationS).toBeCloseTo(2.02, 6);
    expect(result?.bytes).toBeCloseTo(59.78 * 1024 * 1024, 0);
    expect(result?.latencyMs.p50).toBeCloseTo(0.354, 9);
    // "1.71ms": wrk's text rounds to 10 us above a millisecond, where the Lua line says 1.712.
    expect(result?.latencyMs.p90).toBeCloseTo(1.71, 9);
    expect(result?.latencyMs.p99).toBeCloseTo(5.36, 9);
    expect(result?.latencyMs.max).toBeCloseTo(17.9, 9);
    expect(result?.latencyMs.p999).toBeUndefined();
  });

  it('counts socket errors and error statuses from the text', () => {
    const result = parseWrkText(WRK_TEXT_WITH_ERRORS);
    expect(result?.errors).toEqual({ connect: 1, read: 2, write: 3, timeout: 4, status: 5 });
    expect(result?.bytes).toBe(512 * 1024);
    expect(result?.latencyMs.max).toBe(2500);
  });

  it('prefers the Lua line and fails clearly on anything else', () => {
    expect(parseWrkOutput(WRK_STDOUT).source).toBe('lua');
    expect(() => parseWrkOutput('wrk: connection refused\n')).toThrow(WrkOutputError);
    expect(() => parseWrkOutput(`${RESULT_MARKER}{not json\n`)).toThrow(WrkOutputError);
  });

  it.each([
    ['52.00us', 0.052],
    ['1.23ms', 1.23],
    ['10.00s', 10_000],
    ['1.50m', 90_000],
    ['1h', 3_600_000],
    ['12 parsecs', undefined],
  ])('reads the time %s', (text, ms) => {
    const value = parseWrkTime(text);
    if (ms === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(ms, 9);
  });

  it('writes a script whose strings cannot end early', () => {
    const script = wrkLuaScript({ method: 'POST', body: '{"a":"]]","b":"]=]"}', headers: { 'content-type': 'application/json' } });
    expect(script).toContain('wrk.body = [==[{"a":"]]","b":"]=]"}]==]');
    // `[[[` would open a long string where an index was meant.
    expect(script).not.toContain('[[[');
    expect(script).toContain('wrk.headers[ [[content-type]] ] = [[application/json]]');
    expect(script).toContain(`'${RESULT_MARKER}{"requests":%d`);
  });
});

describe('/proc parsers', () => {
  it('reads VmRSS and VmHWM', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   91234 kB\nVmRSS:\t   88000 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).toEqual({ rssKb: 88000, hwmKb: 91234 });
    expect(parseProcStatus('Name:\tkthreadd\n')).toBeUndefined();
  });

  it('adds utime and stime, counting fields after the last parenthesis of the command name', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '100', '0', '0', '0', '1234', '567', '0', '0', '20'];
    expect(parseProcStat(`4242 (node) ${fields.join(' ')}`)).toEqual({ ticks: 1234 + 567, systemTicks: 567 });
    expect(parseProcStat(`4242 (a) b (c)) ${fields.join(' ')}`)).toEqual({ ticks: 1234 + 567, systemTicks: 567 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads on-CPU and run-queue nanoseconds from schedstat and rejects anything else', () => {
    expect(parseSchedstat('1305123456 88000 25\n')).toEqual({ onCpuNs: 1305123456, runQueueNs: 88000 });
    expect(parseSchedstat('1305123456 -1 25')).toBeUndefined();
    expect(parseSchedstat('1305123456 88000')).toBeUndefined();
    expect(parseSchedstat('-5 1 2')).toBeUndefined();
    expect(parseSchedstat('x 1 2')).toBeUndefined();
  });

  it('reads the machine-wide CPU line of /proc/stat, steal being its eighth field', () => {
    const stat = 'cpu  1272115 3126 211930 15526921 5643 0 98717 291559 7 8\ncpu0 636000 1563 105965 7763460 2821 0 49358 145779 0 0\nintr 1 2\n';
    expect(parseMachineCpu(stat)).toEqual({ totalTicks: 1272115 + 3126 + 211930 + 15526921 + 5643 + 0 + 98717 + 291559, stealTicks: 291559 });
    // Kernels before 2.6.11 had no steal field: no figure rather than a wrong one.
    expect(parseMachineCpu('cpu  1 2 3 4 5 6 7\n')).toBeUndefined();
    expect(parseMachineCpu('cpu0 1 2 3 4 5 6 7 8\n')).toBeUndefined();
  });

  it('gives the share of machine time stolen between two readings', () => {
    expect(stealShare({ totalTicks: 1000, stealTicks: 10 }, { totalTicks: 1200, stealTicks: 60 })).toBeCloseTo(0.25);
    expect(stealShare({ totalTicks: 1000, stealTicks: 10 }, { totalTicks: 1000, stealTicks: 10 })).toBeUndefined();
  });

  it('turns two readings into steal and run-queue wait per second of the phase', () => {
    const before = { atMs: 1_000, machine: { totalTicks: 0, stealTicks: 0 }, sidecar: { onCpuNs: 0, runQueueNs: 5e6 } };
    const after = { atMs: 3_000, machine: { totalTicks: 400, stealTicks: 40 }, sidecar: { onCpuNs: 9e8, runQueueNs: 45e6 } };
    const conditions = conditionsBetween(before, after);
    expect(conditions.steal).toBeCloseTo(0.1);
    // 40 ms waited over 2 s.
    expect(conditions.runQueueMsPerS).toBeCloseTo(20);
    expect(conditionsBetween({ atMs: 0 }, { atMs: 10 })).toEqual({});
  });

  it('reads both conditions from this Linux machine and this very process', () => {
    const reading = readConditions(process.pid);
    expect(reading.machine?.totalTicks).toBeGreaterThan(0);
    expect(reading.sidecar?.onCpuNs).toBeGreaterThan(0);
  });

  it('gives each phase its own peak, and the whole run the largest of them', async () => {
    const child = startAllocatingChild();
    try {
      await child.ready;
      const pid = child.pid;
      const sampler = new RssSampler(pid, 1_000).start();
      const first = sampler.endPhase();
      await child.allocate();
      const second = sampler.endPhase();
      const { peakKb } = sampler.stop();
      expect(first).toBeGreaterThan(1024);
      // The 64 MiB written between the two phases show in the second one only.
      expect(second - first).toBeGreaterThan(40 * 1024);
      expect(peakKb).toBeGreaterThanOrEqual(Math.max(first, second));
      // The kernel batches RSS counters per thread (up to 64 pages each before they reach the
      // totals), so VmHWM can read a little under a sample taken a moment before.
      expect(peakKb).toBeLessThanOrEqual((readMemory(pid)?.hwmKb ?? 0) + 1024);
    } finally {
      child.kill();
    }
  });

  it('stops at the kernel high-water mark when no sample caught the peak', async () => {
    // A child that touches 96 MiB, frees it and then idles: its VmHWM keeps a peak its RSS lost.
    const child = spawn(process.execPath, ['--expose-gc', '-e', 'let b = Buffer.alloc(96 << 20, 1); b = null; gc(); console.log("freed"); setTimeout(() => {}, 20000);'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      const pid = child.pid as number;
      const sampler = new RssSampler(pid, 1_000).start();
      const { rssKb, hwmKb } = readMemory(pid) ?? { rssKb: 0, hwmKb: 0 };
      expect(hwmKb - rssKb).toBeGreaterThan(64 * 1024);
      expect(sampler.stopAtHighWaterMark()).toBe(readMemory(pid)?.hwmKb);
    } finally {
      child.kill();
    }
  });
});

describe('SSE framing of timed streams', () => {
  it('completes events across chunk boundaries and either line ending', () => {
    const splitter = new SseEventSplitter();
    expect(splitter.push('data: {"a":1}\n')).toEqual([]);
    expect(splitter.push('\ndata: {"b"')).toEqual(['data: {"a":1}']);
    expect(splitter.push(':2}\r\n\r\ndata: [DONE]\n\n')).toEqual(['data: {"b":2}', 'data: [DONE]']);
    expect(splitter.rest()).toBe('');
  });

  it("reads and blanks the fake provider's send time", () => {
    const event = 'data: {"id":"x","x_bench_sent_ms":1234.5678,"usage":null}';
    expect(sentAtMs(event)).toBe(1234.5678);
    expect(sentAtMs('data: [DONE]')).toBeUndefined();
    expect(withoutSentTime(event)).toBe('data: {"id":"x","x_bench_sent_ms":0,"usage":null}');
  });

  it('summarises streams: failures, incomplete ones and whether all arrived alike', () => {
    const sample = (events: number, digest: string, newConnection = false): StreamSample => ({ ttfbMs: 1, gapsMs: [20, 21], deliveryMs: [0.2, 0.4], events, digest, newConnection });
    const figures = streamFigures([sample(65, 'aa', true), sample(64, 'bb'), { error: 'ECONNRESET' }], 65);
    expect(figures).toMatchObject({ streams: 2, failures: 1, incomplete: 1, newConnections: 1, digests: ['aa', 'bb'] });
    expect(figures.gapMs).toMatchObject({ count: 4, min: 20, max: 21 });
  });
});

describe('response framing of the timed 1-connection client', () => {
  const answer = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
  const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

  it.each([
    ['nothing yet', '', undefined],
    ['half a head', answer.slice(0, 30), undefined],
    ['the head, half the body', answer.slice(0, answer.length - 4), undefined],
    ['the whole answer', answer, { status: 200, end: answer.length }],
    ['an answer and the start of another', answer + 'HTTP/1.1 2', { status: 200, end: answer.length }],
    ['a 429 with lower-case headers', 'HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}', { status: 429, end: 55 }],
  ])('%s', (_name, received, expected) => {
    expect(completeResponse(bytes(received))).toEqual(expected);
  });

  it.each([
    ['a chunked answer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ['something that is not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a head that never ends', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`],
  ])('refuses %s instead of timing a misread answer', (_name, received) => {
    expect(() => completeResponse(bytes(received))).toThrow(ResponseFramingError);
  });
});

describe('CPU profile summary', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('hashAttributes', 'file:///app/node_modules/@opentelemetry/sdk-metrics/build/src/utils.js', 11) },
      { id: 4, callFrame: frame('record', 'file:///app/dist/src/telemetry/callRecorder.js', 30) },
      { id: 5, callFrame: frame('writev', '') },
    ],
    startTime: 0,
    endTime: 10_000,
    // Each sample owns the time until the next: 3 -> 4000 us, 4 -> 1000 us, 2 -> 3000 us, 5 -> 2000 us.
    samples: [3, 4, 2, 5, 3],
    timeDeltas: [0, 4000, 1000, 3000, 2000],
  };

  it('gives self time per function and per area, largest first', () => {
    const summary = summariseProfile(profile, 10);
    expect(summary.totalMs).toBe(10);
    expect(summary.busyShare).toBeCloseTo(0.7, 9);
    expect(summary.functions[0]).toMatchObject({ name: 'hashAttributes', location: '@opentelemetry/sdk-metrics/build/src/utils.js:12', area: '@opentelemetry/sdk-metrics', selfMs: 4 });
    expect(summary.areas.map((area) => [area.area, area.selfMs])).toEqual([
      ['@opentelemetry/sdk-metrics', 4],
      ['(idle)', 3],
      ['(native)', 2],
      ['sidecar src/telemetry', 1],
    ]);
  });

  it('falls back to hit counts without a sample stream', () => {
    const summary = summariseProfile({ ...profile, samples: undefined, timeDeltas: undefined, nodes: profile.nodes.map((node) => ({ ...node, hitCount: node.id === 4 ? 3 : node.id === 5 ? 1 : 0 })) });
    expect(summary.functions.map((entry) => [entry.name, entry.selfMs])).toEqual([
      ['record', 7.5],
      ['writev', 2.5],
    ]);
  });

  it.each([
    ['(garbage collector)', '', '(garbage collector)'],
    ['readFile', '', '(native)'],
    ['emit', 'node:events', 'node core'],
    ['handle', 'file:///r/node_modules/express/lib/application.js', 'express'],
    ['x', 'file:///r/node_modules/a/node_modules/@scope/pkg/index.js', '@scope/pkg'],
    ['startSidecar', 'file:///r/dist/src/sidecar.js', 'sidecar src/sidecar.js'],
    ['parse', 'file:///r/dist/src/observe/sseParser.js', 'sidecar src/observe'],
    ['main', 'file:///elsewhere/script.js', 'other'],
  ])('puts %s from "%s" in %s', (functionName, url, area) => {
    expect(areaOf(functionName, url)).toBe(area);
  });
});

describe('options', () => {
  it('has full-run defaults and shorter quick ones', () => {
    expect(parseBenchOptions([])).toMatchObject({ quick: false, durationS: 2, rounds: 5, warmupS: 2, leadInS: 1, streams: 40, streamConcurrency: 8, startups: 3, profile: false });
    expect(parseBenchOptions(['--quick'])).toMatchObject({ quick: true, durationS: 1, rounds: 3, warmupS: 1, leadInS: 1, streams: 16, startups: 1 });
    expect(parseBenchOptions(['--quick', '--duration', '5', '--rounds', '7', '--results', '/tmp/r'])).toMatchObject({ durationS: 5, rounds: 7, resultsDir: '/tmp/r' });
    expect(parseBenchOptions(['--lead-in', '0'])).toMatchObject({ leadInS: 0 });
    expect(parseSoakOptions([])).toMatchObject({ minutes: 5, rate: 200, streamShare: 0.1 });
  });

  it.each([
    [['--duration', '0'], '--duration must be a number from 1 to 60'],
    [['--duration', '600'], '--duration must be a number from 1 to 60'],
    [['--streams', '2.5'], '--streams must be a whole number'],
    [['--rounds', '0'], '--rounds must be a number from 1 to 20'],
    [['--rounds', '21'], '--rounds must be a number from 1 to 20'],
    [['--lead-in', '11'], '--lead-in must be a number from 0 to 10'],
    [['--lead-in', '0.5'], '--lead-in must be a whole number'],
    [['--streams', ''], '--streams must be a number'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchOptions(argv)).toThrow(OptionsError);
    expect(() => parseBenchOptions(argv)).toThrow(message);
  });

  it('bounds the soak', () => {
    expect(() => parseSoakOptions(['--minutes', '61'])).toThrow('--minutes must be a number from 0.5 to 60');
    expect(() => parseSoakOptions(['--stream-share', '1.5'])).toThrow('--stream-share must be a number from 0 to 1');
    expect(parseSoakOptions(['--minutes', '0.5', '--rate', '50'])).toMatchObject({ minutes: 0.5, rate: 50 });
  });
});
