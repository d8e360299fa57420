/**
 * `make bench ARGS=--peers` (bench/peers): how each contender is called, the installer's report,
 * the byte comparison behind the correctness row (against a real node:http fake on port 0), the
 * tables, and LiteLLM's config.yaml against what the bench sets and sends.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseBenchOptions } from '../../bench/lib/options';
import { CHAT_REQUEST, REQUEST_HEADERS, STREAM_REQUEST } from '../../bench/lib/payloads';
import type { StreamFigures } from '../../bench/lib/streamStats';
import { compareAnswers, describeComparison, headerFamilies, withoutSendTimes, type ClientAnswer } from '../../bench/peers/compare';
import { API_PATHS, directRequest, sidecarCorpusUpstreams, sidecarRequest, withClientHeaders, type Call, type Contender, type UpstreamUrls } from '../../bench/peers/contender';
import { loadExchange, sseWrites, startCorpusProvider, type CorpusProvider } from '../../bench/peers/corpusProvider';
import { checkCorrectness, correctnessCases, fetchAnswer } from '../../bench/peers/correctness';
import { parseInstallOutput } from '../../bench/peers/install';
import { LITELLM_PACED_MODEL, litellmEnvironment, litellmRequest } from '../../bench/peers/litellm';
import { portkeyRequest } from '../../bench/peers/portkey';
import { buildPeerRows, formatPeerRatio, renderPeersMarkdown, renderPeersText } from '../../bench/peers/report';
import { PEERS } from '../../bench/peers/registry';
import type { PeerResults } from '../../bench/peers/results';
import { CORPUS_FILES } from '../../bench/peers/run';

const ROOT = path.resolve(__dirname, '../..');
const UPSTREAMS: UpstreamUrls = { origin: 'http://127.0.0.1:1001', paced: 'http://127.0.0.1:1002', corpus: 'http://127.0.0.1:1003' };
const JSON_CALL: Call = { upstream: 'origin', api: 'chat', body: CHAT_REQUEST, headers: {} };
const PACED_CALL: Call = { upstream: 'paced', api: 'chat', body: STREAM_REQUEST, headers: {} };
const MESSAGES_CALL: Call = { upstream: 'corpus', api: 'messages', body: '{"model":"claude-opus-4-6","stream":true}', headers: { 'anthropic-version': '2023-06-01' } };
const EXCHANGES = { openai: loadExchange(ROOT, CORPUS_FILES.openai), anthropic: loadExchange(ROOT, CORPUS_FILES.anthropic) };

describe('how each contender is called', () => {
  test.each([
    ['direct', directRequest(UPSTREAMS, JSON_CALL), 'http://127.0.0.1:1001/v1/chat/completions'],
    ['sidecar, plain JSON', sidecarRequest('http://s', JSON_CALL), 'http://s/openai/v1/chat/completions'],
    ['sidecar, paced', sidecarRequest('http://s', PACED_CALL), 'http://s/openai-paced/v1/chat/completions'],
    ['sidecar, Anthropic', sidecarRequest('http://s', MESSAGES_CALL), 'http://s/anthropic-corpus/v1/messages'],
    ['litellm, Anthropic', litellmRequest('http://l', MESSAGES_CALL), 'http://l/v1/messages'],
    ['portkey, paced', portkeyRequest('http://p', UPSTREAMS, PACED_CALL), 'http://p/v1/chat/completions'],
  ])('%s goes to its path', (_, request, url) => {
    expect(request.url).toBe(url);
    expect(request.headers).toMatchObject(REQUEST_HEADERS);
  });

  test('the sidecar and Portkey send the direct client body unchanged', () => {
    for (const call of [JSON_CALL, PACED_CALL, MESSAGES_CALL]) {
      expect(sidecarRequest('http://s', call).body).toBe(call.body);
      expect(portkeyRequest('http://p', UPSTREAMS, call).body).toBe(call.body);
    }
  });

  test('LiteLLM renames only the paced model, which it routes on', () => {
    expect(litellmRequest('http://l', JSON_CALL).body).toBe(CHAT_REQUEST);
    const paced = JSON.parse(litellmRequest('http://l', PACED_CALL).body) as Record<string, unknown>;
    expect(paced).toEqual({ ...(JSON.parse(STREAM_REQUEST) as Record<string, unknown>), model: LITELLM_PACED_MODEL });
  });

  test('Portkey is told the provider and where the fake listens', () => {
    expect(portkeyRequest('http://p', UPSTREAMS, PACED_CALL).headers).toMatchObject({ 'x-portkey-provider': 'openai', 'x-portkey-custom-host': 'http://127.0.0.1:1002/v1' });
    expect(portkeyRequest('http://p', UPSTREAMS, MESSAGES_CALL).headers).toMatchObject({ 'x-portkey-provider': 'anthropic', 'x-portkey-custom-host': 'http://127.0.0.1:1003/v1', 'anthropic-version': '2023-06-01' });
  });

  test('the sidecar gets a route per corpus API', () => {
    expect(sidecarCorpusUpstreams('http://c')).toEqual(['openai-corpus:openai=http://c', 'anthropic-corpus:anthropic=http://c']);
    expect(() => sidecarRequest('http://s', { ...MESSAGES_CALL, upstream: 'paced' })).toThrow('no Anthropic route');
  });
});

describe("LiteLLM's config.yaml", () => {
  const config = parseYaml(readFileSync(path.join(ROOT, 'bench/peers/litellm/config.yaml'), 'utf8')) as {
    model_list: Array<{ model_name: string; litellm_params: Record<string, string> }>;
    litellm_settings: { callbacks: string[] };
  };
  const text = readFileSync(path.join(ROOT, 'bench/peers/litellm/config.yaml'), 'utf8');

  test('every os.environ/ value it reads is set by the bench', () => {
    const wanted = [...text.matchAll(/os\.environ\/(\w+)/g)].map((match) => match[1] as string);
    const environment = litellmEnvironment(UPSTREAMS);
    expect(wanted.length).toBeGreaterThan(0);
    for (const name of wanted) expect(environment[name]).toEqual(expect.any(String));
  });

  test('has a deployment for every model the bench calls it with', () => {
    const models = new Set(config.model_list.map((entry) => entry.model_name));
    const called = [JSON_CALL, PACED_CALL, ...correctnessCases(EXCHANGES).map((testCase) => testCase.call)].map((call) => (JSON.parse(litellmRequest('http://l', call).body) as { model: string }).model);
    for (const model of called) expect(models).toContain(model);
  });

  test('keeps its Prometheus metrics on and stays off the internet', () => {
    expect(config.litellm_settings.callbacks).toContain('prometheus');
    expect(litellmEnvironment(UPSTREAMS)).toMatchObject({ LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_LOG: 'WARNING' });
  });
});

describe("scripts/peers-env.sh's report", () => {
  test('ok and failed lines, anything else ignored', () => {
    const outcomes = parseInstallOutput('litellm\tok\t/x/bin/python\nportkey\tfailed\tnpm ci failed: E404\tmore\nnoise line\n\nbifrost\tok\t\n');
    expect(outcomes.get('litellm')).toEqual({ installed: true, entry: '/x/bin/python' });
    expect(outcomes.get('portkey')).toEqual({ installed: false, reason: 'npm ci failed: E404\tmore' });
    expect(outcomes.has('bifrost')).toBe(false);
    expect(outcomes.size).toBe(2);
  });

  test('installs exactly the peers the bench registers', () => {
    const script = readFileSync(path.join(ROOT, 'scripts/peers-env.sh'), 'utf8');
    const listed = /^ALL_PEERS=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/);
    expect(listed).toEqual(PEERS.map((peer) => peer.name));
  });

  test('refuses a peer it does not know, before installing anything', () => {
    const run = spawnSync('bash', [path.join(ROOT, 'scripts/peers-env.sh'), 'no-such-peer'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown peer 'no-such-peer'");
    expect(run.stdout).toBe('');
  });
});

describe('same bytes as a direct call', () => {
  const answer = (body: string, headers: Record<string, string> = {}): ClientAnswer => ({ status: 200, headers: { 'content-type': 'text/event-stream', ...headers }, body });

  test('identical answers compare equal, connection headers aside', () => {
    const comparison = compareAnswers(answer('data: 1\n\n', { date: 'a', 'x-request-id': 'r' }), answer('data: 1\n\n', { date: 'b', 'x-request-id': 'r' }));
    expect(comparison).toMatchObject({ sameBody: true, sameStatus: true, headersDropped: [], headersChanged: [] });
    expect(describeComparison(comparison)).toBe('same bytes');
  });

  test('a rewritten body and lost provider headers are reported', () => {
    const direct = answer('data: {"created":1}\n\n', { 'x-ratelimit-limit-requests': '1', 'x-ratelimit-remaining-requests': '0', 'openai-version': 'v' });
    const comparison = compareAnswers(direct, answer('data: {"created":2}\n\n', { 'openai-version': 'w' }));
    expect(comparison.sameBody).toBe(false);
    expect(comparison.firstDifference?.offset).toBe(17);
    expect(comparison.headersDropped).toEqual(['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests']);
    expect(comparison.headersChanged).toEqual(['openai-version']);
    expect(describeComparison(comparison)).toBe('different bytes (21 vs 21, from byte 17); drops x-ratelimit-*; changes openai-version');
  });

  test('header families group only names that share one', () => {
    expect(headerFamilies(['anthropic-ratelimit-a', 'anthropic-ratelimit-b', 'request-id'])).toEqual(['anthropic-ratelimit-*', 'request-id']);
  });

  test("the paced fake's send times are blanked, nothing else", () => {
    expect(withoutSendTimes('{"a":1,"x_bench_sent_ms":123.5}\n\n{"x_bench_sent_ms":9e-3}')).toBe('{"a":1,"x_bench_sent_ms":0}\n\n{"x_bench_sent_ms":0}');
  });

  test('recorded streams are written one event at a time', () => {
    expect(sseWrites('data: a\n\ndata: b\n\n')).toEqual(['data: a\n\n', 'data: b\n\n']);
    expect(sseWrites(EXCHANGES.anthropic.response.body_text).join('')).toBe(EXCHANGES.anthropic.response.body_text);
  });

  describe('against the corpus fake on a real socket', () => {
    let corpus: CorpusProvider;
    let rewriter: http.Server;
    let rewriterUrl: string;
    beforeAll(async () => {
      corpus = await startCorpusProvider(EXCHANGES);
      // A proxy that re-serialises what it relays and keeps only content-type, as some do.
      rewriter = http.createServer((req, res) => {
        const upstream = http.request(`${corpus.url}${req.url ?? ''}`, { method: 'POST', headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? '' });
          answer.setEncoding('utf8').on('data', (text: string) => res.write(text.replace(/"created":\d+/g, '"created":1')));
          answer.on('end', () => res.end());
        });
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => rewriter.listen(0, '127.0.0.1', resolve));
      rewriterUrl = `http://127.0.0.1:${(rewriter.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await corpus.close();
      await new Promise((resolve) => rewriter.close(resolve));
    });

    test('serves each recorded stream with its headers and keeps what arrived', async () => {
      const [, toolCall, anthropic] = correctnessCases(EXCHANGES);
      const direct = await fetchAnswer(directRequest({ ...UPSTREAMS, corpus: corpus.url }, toolCall!.call));
      expect(direct.body).toBe(EXCHANGES.openai.response.body_text);
      expect(direct.headers['x-request-id']).toBe(EXCHANGES.openai.response.headers['x-request-id']);
      expect(corpus.lastRequest()?.body).toBe(toolCall!.call.body);
      const messages = await fetchAnswer(directRequest({ ...UPSTREAMS, corpus: corpus.url }, anthropic!.call));
      expect(messages.body).toBe(EXCHANGES.anthropic.response.body_text);
      expect(corpus.lastRequest()?.path).toBe('/v1/messages');
    });

    test('every contender is compared with direct, and what reached the provider with what direct sent', async () => {
      const contenders: Contender[] = [
        { name: 'direct', description: '', request: (call) => directRequest({ ...UPSTREAMS, corpus: corpus.url }, call) },
        { name: 'relay', description: '', request: (call) => ({ url: `${rewriterUrl}${API_PATHS[call.api]}`, headers: withClientHeaders(call), body: call.body }) },
      ];
      const [toolCall, anthropic] = await checkCorrectness(contenders, correctnessCases(EXCHANGES).slice(1), corpus);
      expect(toolCall?.outcomes.direct).toMatchObject({ upstreamBodySame: true, comparison: { sameBody: true } });
      expect(toolCall?.outcomes.relay).toMatchObject({ upstreamBodySame: true, comparison: { sameBody: false } });
      // Anthropic events carry no `created`: the bytes pass, the provider's headers do not.
      expect(anthropic?.outcomes.relay?.comparison?.sameBody).toBe(true);
      expect(anthropic?.outcomes.relay?.comparison?.headersDropped).toContain('anthropic-ratelimit-requests-limit');
    });

    test('a relay that rewrites the stream is caught', async () => {
      const [, toolCall] = correctnessCases(EXCHANGES);
      const call = toolCall!.call;
      const direct = await fetchAnswer(directRequest({ ...UPSTREAMS, corpus: corpus.url }, call));
      const relayed = await fetchAnswer({ url: `${rewriterUrl}/v1/chat/completions`, headers: { ...REQUEST_HEADERS }, body: call.body });
      const comparison = compareAnswers(direct, relayed);
      expect(comparison.sameBody).toBe(false);
      expect(comparison.headersDropped).toContain('x-request-id');
    });
  });
});

function streams(ttfbP50: number): StreamFigures {
  const summary = { count: 1, min: ttfbP50, p50: ttfbP50, p90: ttfbP50, p99: ttfbP50, max: ttfbP50, mean: ttfbP50 };
  return { streams: 16, failures: 0, incomplete: 0, newConnections: 0, ttfbMs: summary, gapMs: { ...summary, p50: 20, p99: 21 + ttfbP50, max: 25 }, digests: ['a'] };
}

function peerResults(): PeerResults {
  const wrk = (rps: number, p50: number) => ({ requests: rps, durationS: 1, requestsPerSec: rps, bytes: 0, errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 }, latencyMs: { mean: p50, max: p50, p50, p75: p50, p90: p50, p99: p50 * 2 }, source: 'lua' as const });
  const json = ['direct', 'sidecar', 'litellm'].flatMap((contender, index) =>
    [1, 16, 64].flatMap((connections) => [0, 1, 2].map((round) => ({ contender, connections, round, wrk: wrk([20_000, 8_000, 40][index] as number, [0.05, 0.4, 20][index] as number), cpuMsPer1k: [5, 100, 9_000][index] }))),
  );
  return {
    contenders: [
      { name: 'direct', description: 'straight' },
      { name: 'sidecar', description: 'ours' },
      { name: 'litellm', description: 'LiteLLM proxy; version 1.108.7' },
    ],
    notMeasured: [{ name: 'portkey', reason: 'not installed: npm ci failed: E404' }],
    json,
    streams: { direct: streams(0.5), sidecar: streams(1.5), litellm: streams(22.5) },
    streamCpu: { sidecar: { cpuMs: 100, events: 1000 }, litellm: { cpuMs: 1000, events: 1000 } },
    startupMs: { sidecar: [100, 120, 110], litellm: [7_000] },
    idleRssKb: { sidecar: 60 * 1024, litellm: 330 * 1024 },
    idleAnonKb: { sidecar: 15 * 1024, litellm: 290 * 1024 },
    peakRssKb: { sidecar: 80 * 1024, litellm: 400 * 1024 },
    correctness: [
      {
        id: 'tool-call-stream',
        title: 'chat stream with a tool call (recorded)',
        outcomes: {
          direct: { upstreamBodyBytes: 392, upstreamBodySame: true, comparison: compareAnswers({ status: 200, headers: {}, body: 'x' }, { status: 200, headers: {}, body: 'x' }) },
          sidecar: { upstreamBodyBytes: 432, upstreamBodySame: false, comparison: compareAnswers({ status: 200, headers: {}, body: 'x' }, { status: 200, headers: {}, body: 'x' }) },
          litellm: { error: 'Error: status 500' },
        },
      },
    ],
    notes: ['litellm at 64 connections, round 1: 3 errors'],
  };
}

describe('the peers tables', () => {
  const results = peerResults();
  const rows = buildPeerRows(results);
  const find = (section: string, label: string) => rows.find((row) => row.section.startsWith(section) && row.label === label);

  test('figures are medians over rounds, "added" rows are over direct', () => {
    expect(find('plain JSON, 16', 'requests per second')?.values).toEqual({ direct: 20_000, sidecar: 8_000, litellm: 40 });
    const addedP50 = find('plain JSON, 1 connection', 'added latency p50')?.values;
    expect(addedP50?.direct).toBeUndefined();
    expect(addedP50?.sidecar).toBeCloseTo(0.35);
    expect(addedP50?.litellm).toBeCloseTo(19.95);
    expect(find('streaming', 'added time to first byte p50')?.values).toEqual({ direct: undefined, sidecar: 1, litellm: 22 });
    expect(find('resources', 'startup to ready (median)')?.values).toEqual({ direct: undefined, sidecar: 110, litellm: 7_000 });
    expect(find('resources', 'CPU per 1,000 stream events relayed')?.values).toEqual({ direct: undefined, sidecar: 100, litellm: 1_000 });
  });

  test('ratios to the sidecar stay readable far from 1', () => {
    expect(formatPeerRatio(40 / 8_000)).toBe('0.0050x');
    expect(formatPeerRatio(90)).toBe('90.00x');
    expect(formatPeerRatio(undefined)).toBe('—');
  });

  test('Markdown: one table per section with a ratio column per peer, correctness, and what was not measured', () => {
    const markdown = renderPeersMarkdown(results);
    expect(markdown).toContain('| figure | unit | direct | sidecar | litellm | litellm/sidecar |');
    expect(markdown).toContain('| requests per second | req/s | 20,000 | 8,000 | 40.0 | 0.0050x |');
    expect(markdown).toContain('| chat stream with a tool call (recorded) | same bytes; provider got another request body (432 bytes, direct 392) | failed: Error: status 500 |');
    expect(markdown).toContain('- portkey: not measured, not installed: npm ci failed: E404');
    expect(markdown).toContain('- litellm at 64 connections, round 1: 3 errors');
  });

  test('with no peer measured the section says so and why', () => {
    const none: PeerResults = { ...results, contenders: results.contenders.slice(0, 2), notMeasured: [{ name: 'litellm', reason: 'not installed: pip failed' }], correctness: [] };
    expect(renderPeersMarkdown(none)).toContain('No peer was measured.');
    expect(renderPeersText(none)).toContain('litellm: not measured, not installed: pip failed');
  });

  test('--peers is off unless asked for', () => {
    expect(parseBenchOptions([]).peers).toBe(false);
    expect(parseBenchOptions(['--peers', '--quick']).peers).toBe(true);
  });
});
