/**
 * The OTLP test receiver against the REAL OpenTelemetry JS exporters (JSON and protobuf, plain
 * and gzip), plus hand-crafted requests for the edge cases the exporters do not produce.
 *
 * Why the exporters run in a child Node process: @opentelemetry/otlp-exporter-base 0.223 loads
 * `http`/`https` with a dynamic `import()` on the first send. Inside Jest's CommonJS VM that throws
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG (unless Node runs with --experimental-vm-modules), so
 * an in-process exporter never sends a single byte. A plain `node` child is also exactly the
 * runtime the sidecar uses. The child is driven over IPC; the receiver stays in the Jest process.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import * as zlib from 'zlib';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../helpers/otlpReceiver';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Plain CommonJS run by `node -e` in PROJECT_ROOT (so the installed packages resolve). */
const DRIVER = String.raw`
const { ValueType } = require('@opentelemetry/api');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = require('@opentelemetry/resources');
let s;
const handlers = {
  init({ url, encoding, gzip, timeoutMillis, resource, scope, instruments }) {
    const pkg = encoding === 'json' ? '@opentelemetry/exporter-metrics-otlp-http' : '@opentelemetry/exporter-metrics-otlp-proto';
    const { OTLPMetricExporter } = require(pkg);
    const config = { url };
    if (gzip) config.compression = 'gzip';
    if (timeoutMillis) config.timeoutMillis = timeoutMillis;
    const exporter = new OTLPMetricExporter(config);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 });
    const provider = new MeterProvider({ resource: resourceFromAttributes(resource), readers: [reader] });
    const meter = provider.getMeter(scope.name, scope.version);
    s = { exporter, reader, provider, inst: {}, gauges: {} };
    for (const i of instruments) {
      const opts = { unit: i.unit, valueType: i.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
      if (i.bounds) opts.advice = { explicitBucketBoundaries: i.bounds };
      if (i.type === 'histogram') s.inst[i.name] = meter.createHistogram(i.name, opts);
      else if (i.type === 'counter') s.inst[i.name] = meter.createCounter(i.name, opts);
      else {
        s.gauges[i.name] = [];
        meter.createObservableGauge(i.name, opts).addCallback((r) => {
          for (const [v, attrs] of s.gauges[i.name]) r.observe(v, attrs);
        });
      }
    }
  },
  record({ name, value, attributes }) {
    const i = s.inst[name];
    if (i.record) i.record(value, attributes); else i.add(value, attributes);
  },
  observe({ name, observations }) { s.gauges[name] = observations; },
  forceFlush() { return s.provider.forceFlush(); },
  async exportOnce() {
    const { resourceMetrics } = await s.reader.collect();
    const r = await new Promise((resolve) => s.exporter.export(resourceMetrics, resolve));
    return { code: r.code, error: r.error ? String(r.error.message || r.error) : undefined };
  },
  async shutdown() { if (s) await s.provider.shutdown(); },
};
process.on('message', async ({ id, cmd, args }) => {
  try {
    const result = await handlers[cmd](args);
    process.send({ id, ok: true, result });
  } catch (e) {
    process.send({ id, ok: false, error: String((e && e.stack) || e) });
  }
  if (cmd === 'shutdown') process.disconnect();
});
`;

/** IPC handle on a child Node process that owns a MeterProvider + real OTLPMetricExporter. */
class ExporterProcess {
  private nextId = 0;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(`exporter child: ${m.error}`));
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`exporter child exited (${code}); stderr:\n${this.stderr}`));
        this.pending.clear();
        resolve();
      }),
    );
  }

  static start(): ExporterProcess {
    return new ExporterProcess(
      spawn(process.execPath, ['-e', DRIVER], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }),
    );
  }

  call<T = void>(cmd: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, args });
    });
  }

  /** Shuts the MeterProvider down (which exports once more) and waits for the child to exit. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => this.child.kill(), 5000); // never hang a test on a stuck child
    if (this.child.exitCode === null && this.child.connected) {
      await this.call('shutdown').catch(() => undefined);
    }
    await this.exited;
    clearTimeout(timer);
  }
}

const RESOURCE_ATTRS = {
  'service.name': 'genai-sidecar-test',
  'k8s.pod.name': 'pod-abc',
  'sidecar.replicas': 3,
  'sidecar.enabled': true,
};
const SCOPE = 'otlp-receiver-test';
const DURATION_BOUNDS = [0.125, 0.5, 1, 5];
const TOKEN_BOUNDS = [1, 16, 256, 4096];
const INSTRUMENTS = [
  { name: 'gen_ai.client.operation.duration', type: 'histogram', unit: 's', valueType: 'double', bounds: DURATION_BOUNDS },
  { name: 'gen_ai.client.token.usage', type: 'histogram', unit: '{token}', valueType: 'int', bounds: TOKEN_BOUNDS },
  { name: 'genai_sidecar.requests', type: 'counter', unit: '{request}', valueType: 'int' },
  { name: 'genai_sidecar.cost', type: 'counter', unit: 'USD', valueType: 'double' },
  { name: 'genai_sidecar.inflight', type: 'gauge', unit: '{request}', valueType: 'double' },
];

interface Variant {
  name: string;
  encoding: 'json' | 'protobuf';
  gzip: boolean;
  contentType: string;
}
const variants: Variant[] = [
  { name: 'json', encoding: 'json', gzip: false, contentType: 'application/json' },
  { name: 'json+gzip', encoding: 'json', gzip: true, contentType: 'application/json' },
  { name: 'protobuf', encoding: 'protobuf', gzip: false, contentType: 'application/x-protobuf' },
  { name: 'protobuf+gzip', encoding: 'protobuf', gzip: true, contentType: 'application/x-protobuf' },
];

const OP_ATTRS = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'server.port': 443, stream: true };

async function recordFirstBatch(p: ExporterProcess) {
  const rec = (name: string, value: number, attributes: Record<string, unknown>) => p.call('record', { name, value, attributes });
  // Exactly representable values so sums compare exactly. Buckets: (-inf,.125] (.125,.5] (.5,1] (1,5] (5,inf)
  for (const v of [0.0625, 0.25, 0.25, 2, 10]) await rec('gen_ai.client.operation.duration', v, OP_ATTRS);
  await rec('gen_ai.client.token.usage', 12, { ...OP_ATTRS, 'gen_ai.token.type': 'input' });
  await rec('gen_ai.client.token.usage', 300, { ...OP_ATTRS, 'gen_ai.token.type': 'input' });
  await rec('gen_ai.client.token.usage', 5000, { ...OP_ATTRS, 'gen_ai.token.type': 'output' });
  await rec('genai_sidecar.requests', 1, { 'http.response.status_code': 200, ratio: 0.5 });
  await rec('genai_sidecar.requests', 4, { 'http.response.status_code': 200, ratio: 0.5 });
  await rec('genai_sidecar.requests', 1, { 'http.response.status_code': 503, ratio: 0.5 });
  await rec('genai_sidecar.cost', 0.25, { 'gen_ai.request.model': 'gpt-4o' });
  await rec('genai_sidecar.cost', 0.5, { 'gen_ai.request.model': 'gpt-4o' });
  await p.call('observe', { name: 'genai_sidecar.inflight', observations: [[7, { pool: 'a' }], [2.5, { pool: 'b' }]] });
}

const common = { resource: RESOURCE_ATTRS, scope: SCOPE };

function expectedFirstBatch(): ReceivedPoint[] {
  return [
    {
      ...common,
      metric: 'gen_ai.client.operation.duration',
      unit: 's',
      kind: 'histogram',
      temporality: 'cumulative',
      attributes: OP_ATTRS,
      count: 5,
      sum: 12.5625,
      bucketCounts: [1, 2, 0, 1, 1],
      explicitBounds: DURATION_BOUNDS,
    },
    {
      ...common,
      metric: 'gen_ai.client.token.usage',
      unit: '{token}',
      kind: 'histogram',
      temporality: 'cumulative',
      attributes: { ...OP_ATTRS, 'gen_ai.token.type': 'input' },
      count: 2,
      sum: 312,
      bucketCounts: [0, 1, 0, 1, 0],
      explicitBounds: TOKEN_BOUNDS,
    },
    {
      ...common,
      metric: 'gen_ai.client.token.usage',
      unit: '{token}',
      kind: 'histogram',
      temporality: 'cumulative',
      attributes: { ...OP_ATTRS, 'gen_ai.token.type': 'output' },
      count: 1,
      sum: 5000,
      bucketCounts: [0, 0, 0, 0, 1],
      explicitBounds: TOKEN_BOUNDS,
    },
    {
      ...common,
      metric: 'genai_sidecar.requests',
      unit: '{request}',
      kind: 'sum',
      monotonic: true,
      temporality: 'cumulative',
      attributes: { 'http.response.status_code': 200, ratio: 0.5 },
      value: 5,
    },
    {
      ...common,
      metric: 'genai_sidecar.requests',
      unit: '{request}',
      kind: 'sum',
      monotonic: true,
      temporality: 'cumulative',
      attributes: { 'http.response.status_code': 503, ratio: 0.5 },
      value: 1,
    },
    {
      ...common,
      metric: 'genai_sidecar.cost',
      unit: 'USD',
      kind: 'sum',
      monotonic: true,
      temporality: 'cumulative',
      attributes: { 'gen_ai.request.model': 'gpt-4o' },
      value: 0.75,
    },
    { ...common, metric: 'genai_sidecar.inflight', unit: '{request}', kind: 'gauge', attributes: { pool: 'a' }, value: 7 },
    { ...common, metric: 'genai_sidecar.inflight', unit: '{request}', kind: 'gauge', attributes: { pool: 'b' }, value: 2.5 },
  ];
}

/** Order-insensitive comparison. */
const pointKey = (p: ReceivedPoint) => `${p.metric}|${JSON.stringify(Object.entries(p.attributes).sort())}`;
const sorted = (ps: ReceivedPoint[]) => [...ps].sort((a, b) => (pointKey(a) < pointKey(b) ? -1 : pointKey(a) > pointKey(b) ? 1 : 0));

interface ChildExportResult {
  code: number; // ExportResultCode: 0 SUCCESS, 1 FAILED
  error?: string;
}
const SUCCESS = 0;
const FAILED = 1;

describe.each(variants)('OTLP receiver with the real $name exporter', (variant) => {
  let receiver: OtlpReceiver;
  let child: ExporterProcess | undefined;

  const start = async (timeoutMillis?: number) => {
    child = ExporterProcess.start();
    await child.call('init', {
      url: `${receiver.url}/v1/metrics`,
      encoding: variant.encoding,
      gzip: variant.gzip,
      timeoutMillis,
      resource: RESOURCE_ATTRS,
      scope: { name: SCOPE, version: '1.2.3' },
      instruments: INSTRUMENTS,
    });
    return child;
  };

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    receiver.respondWith(200);
    await child?.stop();
    child = undefined;
    await receiver.close();
  });

  it('decodes histograms (explicit buckets), counters and gauges with attributes and resource', async () => {
    const p = await start();
    await recordFirstBatch(p);
    await p.call('forceFlush');

    const pts = await receiver.waitFor((ps) => ps.length >= 8);
    expect(sorted(pts)).toEqual(sorted(expectedFirstBatch()));
    expect(receiver.requests).toEqual([{ contentType: variant.contentType, bytes: expect.any(Number), status: 200 }]);
    expect(receiver.requests[0].bytes).toBeGreaterThan(0);
  });

  it('keeps every export in points() and only the newest cumulative point per series in latest()', async () => {
    const p = await start();
    await recordFirstBatch(p);
    await p.call('forceFlush');
    await receiver.waitFor((ps) => ps.length >= 8);

    await p.call('record', { name: 'gen_ai.client.operation.duration', value: 0.75, attributes: OP_ATTRS });
    // Same series as before, attributes given in a different key order.
    await p.call('record', { name: 'genai_sidecar.requests', value: 2, attributes: { ratio: 0.5, 'http.response.status_code': 200 } });
    await p.call('observe', { name: 'genai_sidecar.inflight', observations: [[1, { pool: 'a' }]] });
    await p.call('forceFlush');
    const all = await receiver.waitFor((ps) => ps.length >= 16);
    expect(receiver.requests.map((r) => r.status)).toEqual([200, 200]);

    const expected = expectedFirstBatch().map((pt): ReceivedPoint => {
      if (pt.metric === 'gen_ai.client.operation.duration') return { ...pt, count: 6, sum: 13.3125, bucketCounts: [1, 2, 1, 1, 1] };
      if (pt.metric === 'genai_sidecar.requests' && pt.attributes['http.response.status_code'] === 200) return { ...pt, value: 7 };
      if (pt.metric === 'genai_sidecar.inflight' && pt.attributes.pool === 'a') return { ...pt, value: 1 };
      return pt;
    });
    // SDK quirk: with cumulative temporality the JS SDK keeps re-exporting an observable-gauge series
    // that the callback no longer observes (pool=b, still 2.5), so the 2nd export has all 8 series.
    expect(all).toHaveLength(16);
    expect(sorted(all.slice(0, 8))).toEqual(sorted(expectedFirstBatch()));
    expect(sorted(all.slice(8))).toEqual(sorted(expected));
    expect(sorted(receiver.latest())).toEqual(sorted(expected));
  });

  it('makes the exporter fail while respondWith(503) is in effect, and recover afterwards', async () => {
    // Short exporter timeout: 503 is retryable and the exporter would otherwise back off for seconds.
    const p = await start(300);
    await recordFirstBatch(p);

    receiver.respondWith(503);
    const failed = await p.call<ChildExportResult>('exportOnce');
    expect(failed.code).toBe(FAILED);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
    for (const r of receiver.requests) expect(r).toEqual({ contentType: variant.contentType, bytes: expect.any(Number), status: 503 });
    expect(receiver.points()).toEqual([]); // rejected data is not "received"

    receiver.respondWith(200);
    const ok = await p.call<ChildExportResult>('exportOnce');
    expect(ok).toEqual({ code: SUCCESS });
    expect(sorted(receiver.points())).toEqual(sorted(expectedFirstBatch()));
    expect(receiver.requests[receiver.requests.length - 1].status).toBe(200);
  });

  it('a non-retryable status (400) fails the export without retries', async () => {
    const p = await start();
    await recordFirstBatch(p);
    receiver.respondWith(400);
    const failed = await p.call<ChildExportResult>('exportOnce');
    expect(failed.code).toBe(FAILED);
    expect(receiver.requests.map((r) => r.status)).toEqual([400]);
  });
});

describe('OTLP receiver: hand-crafted requests', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.close());

  const post = (body: Buffer | string, headers: Record<string, string>, path = '/v1/metrics') =>
    fetch(`${receiver.url}${path}`, { method: 'POST', headers, body });

  // OTLP/JSON as the spec allows it but the JS exporter does not send it: 64-bit ints as strings,
  // snake_case keys, enum names, an empty AnyValue, nested array/kvlist values.
  const handJson = {
    resource_metrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'hand' } },
            { key: 'pid', value: { intValue: '4242' } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'hand-scope', version: '0' },
            metrics: [
              {
                name: 'h',
                unit: 'ms',
                histogram: {
                  aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                  dataPoints: [
                    {
                      attributes: [
                        { key: 'ok', value: { boolValue: false } },
                        { key: 'ratio', value: { doubleValue: '0.5' } },
                        { key: 'empty', value: {} },
                        { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '2' }] } } },
                        { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } } },
                      ],
                      timeUnixNano: '1700000000000000000',
                      count: '3',
                      sum: 6,
                      bucket_counts: ['1', '2'],
                      explicitBounds: [1],
                    },
                  ],
                },
              },
              {
                name: 'c',
                sum: { aggregationTemporality: 1, isMonotonic: false, dataPoints: [{ asInt: '-9007199254740991' }] },
              },
              { name: 'g', gauge: { dataPoints: [{ asDouble: 'NaN' }, { asDouble: 'Infinity' }] } },
              { name: 'ignored', exponentialHistogram: { dataPoints: [{ count: '1' }] } },
            ],
          },
        ],
      },
    ],
  };
  const handResource = { 'service.name': 'hand', pid: 4242 };
  const handPoints: ReceivedPoint[] = [
    {
      metric: 'h',
      unit: 'ms',
      kind: 'histogram',
      temporality: 'delta',
      attributes: { ok: false, ratio: 0.5, tags: '["x",2]', kv: '{"a":true}' },
      resource: handResource,
      scope: 'hand-scope',
      count: 3,
      sum: 6,
      bucketCounts: [1, 2],
      explicitBounds: [1],
    },
    {
      metric: 'c',
      unit: '',
      kind: 'sum',
      monotonic: false,
      temporality: 'delta',
      attributes: {},
      resource: handResource,
      scope: 'hand-scope',
      value: -9007199254740991,
    },
    { metric: 'g', unit: '', kind: 'gauge', attributes: {}, resource: handResource, scope: 'hand-scope', value: NaN },
    { metric: 'g', unit: '', kind: 'gauge', attributes: {}, resource: handResource, scope: 'hand-scope', value: Infinity },
  ];

  it('accepts spec-shaped OTLP/JSON (string ints, snake_case, enum names) and answers an empty response', async () => {
    const res = await post(JSON.stringify(handJson), { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({});
    expect(receiver.points()).toEqual(handPoints);
  });

  it('accepts gzip-compressed JSON', async () => {
    const body = zlib.gzipSync(Buffer.from(JSON.stringify(handJson)));
    const res = await post(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(receiver.points()).toEqual(handPoints);
    expect(receiver.requests).toEqual([{ contentType: 'application/json', bytes: body.length, status: 200 }]);
  });

  it('answers protobuf with an empty protobuf ExportMetricsServiceResponse (zero bytes)', async () => {
    const res = await post(Buffer.alloc(0), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect(receiver.points()).toEqual([]);
  });

  it.each([
    ['broken JSON', '{"resourceMetrics": [', { 'content-type': 'application/json' }],
    ['JSON that is not an object', '[1,2]', { 'content-type': 'application/json' }],
    ['a non-numeric count', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'h', histogram: { dataPoints: [{ count: 'lots' }] } }] }] }] }), { 'content-type': 'application/json' }],
    // field 1, wire type 2, length 127, but only 2 bytes follow
    ['truncated protobuf', Buffer.from([0x0a, 0x7f, 0x0a, 0x00]), { 'content-type': 'application/x-protobuf' }],
    ['bad gzip', Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
  ] as [string, string | Buffer, Record<string, string>][])('rejects %s with 400 and records it', async (_n, body, headers) => {
    const res = await post(body, headers);
    expect(res.status).toBe(400);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]).toMatchObject({ contentType: headers['content-type'], status: 400, bytes: Buffer.byteLength(body) });
    expect(receiver.requests[0].error).toMatch(/cannot decode|invalid gzip/);
    expect(receiver.points()).toEqual([]);
  });

  it('rejects unsupported content types (415) and unknown paths (404)', async () => {
    expect((await post('x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('{}', { 'content-type': 'application/json' }, '/v1/traces')).status).toBe(404);
    expect(receiver.requests.map((r) => r.status)).toEqual([415, 404]);
  });

  it('latest() prefers the newer time_unix_nano over arrival order and ignores attribute key order', async () => {
    const req = (time: string, value: number, attrs: [string, string][]) =>
      JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'r' } }] },
            scopeMetrics: [
              {
                scope: { name: 's' },
                metrics: [
                  {
                    name: 'm',
                    sum: {
                      aggregationTemporality: 2,
                      isMonotonic: true,
                      dataPoints: [
                        { attributes: attrs.map(([key, v]) => ({ key, value: { stringValue: v } })), timeUnixNano: time, asInt: value },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      });
    const json = { 'content-type': 'application/json' };
    await post(req('1700000000000000002', 5, [['a', '1'], ['b', '2']]), json);
    await post(req('1700000000000000001', 3, [['b', '2'], ['a', '1']]), json); // late retry of an older point
    await post(req('1700000000000000001', 9, [['a', 'other']]), json);
    expect(receiver.points().map((p) => p.value)).toEqual([5, 3, 9]);
    expect(receiver.latest().map((p) => [p.attributes, p.value])).toEqual([
      [{ a: '1', b: '2' }, 5],
      [{ a: 'other' }, 9],
    ]);
  });

  it('waitFor resolves once the predicate holds and rejects with what was received on timeout', async () => {
    const waiting = receiver.waitFor((ps) => ps.some((p) => p.metric === 'c'), 2000);
    await post(JSON.stringify(handJson), { 'content-type': 'application/json' });
    await expect(waiting).resolves.toHaveLength(4);

    const err = await receiver.waitFor((ps) => ps.some((p) => p.metric === 'nope'), 100).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain('predicate not satisfied after 100ms');
    expect(msg).toContain('requests (1):');
    expect(msg).toContain('200 application/json');
    expect(msg).toContain('h [histogram/delta unit=ms] {kv="{\\"a\\":true}",ok=false,ratio=0.5,tags="[\\"x\\",2]"} count=3 sum=6 buckets=[1,2] bounds=[1]');
  });

  it('waitFor reports the last assertion error of a throwing predicate', async () => {
    const err = await receiver
      .waitFor(() => {
        throw new Error('expected a token histogram');
      }, 50)
      .catch((e: Error) => e);
    expect((err as Error).message).toContain('last predicate error: expected a token histogram');
    expect((err as Error).message).toContain('requests (0):');
  });

  it('respondWith validates its argument', () => {
    expect(() => receiver.respondWith(42)).toThrow(RangeError);
  });
});
