/**
 * bench/lib/otlpWire.ts: a real OTLP/HTTP protobuf export (the OpenTelemetry JS exporter the
 * sidecar uses, captured on a loopback server) stamped with another pod's identity and time must
 * decode to the same export with only those changed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { exportLayout, exportTemplate, podIdentity, stampExport, WireError } from '../../bench/lib/otlpWire';

const MARKER = 'capacity-4x4x2-000000';

/** One export of a counter (2 points), a histogram (1) and a gauge (1), as the exporter sends it. */
async function capturedExport(): Promise<Buffer> {
  let body: Buffer | undefined;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      body ??= Buffer.concat(parts);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const exporter = new OTLPMetricExporter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics` });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.instance.id': MARKER, 'k8s.pod.name': MARKER, 'service.name': 'genai-sidecar' }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
  });
  const meter = provider.getMeter('test');
  const cost = meter.createCounter('genai_sidecar.client.cost.usd');
  cost.add(1.5, { 'gen_ai.request.model': 'gpt-4o' });
  cost.add(0.25, { 'gen_ai.request.model': 'o3' });
  meter.createHistogram('gen_ai.client.operation.duration', { unit: 's' }).record(0.3, { 'gen_ai.operation.name': 'chat' });
  meter.createObservableGauge('genai_sidecar.ratelimit.remaining').addCallback((result) => result.observe(9999, { 'genai_sidecar.ratelimit.resource': 'requests' }));
  try {
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    await new Promise((resolve) => server.close(resolve));
  }
  if (!body) throw new Error('the exporter sent nothing');
  return body;
}

interface Decoded {
  resourceMetrics: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeMetrics: Array<{ metrics: Array<Record<string, { dataPoints: Array<Record<string, unknown>> } | string>> }>;
  }>;
}

function decode(payload: Buffer): Decoded {
  const root = protobuf.loadSync(path.join(__dirname, '../helpers/otlp-metrics.proto'));
  const type = root.lookupType('otlp_subset.ExportMetricsServiceRequest');
  return type.toObject(type.decode(payload), { longs: String, defaults: false }) as Decoded;
}

function points(decoded: Decoded): Array<Record<string, unknown>> {
  return decoded.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((metric) => ['gauge', 'sum', 'histogram'].flatMap((kind) => (typeof metric[kind] === 'object' ? (metric[kind] as { dataPoints: Array<Record<string, unknown>> }).dataPoints : [])))),
  );
}

const resourceOf = (decoded: Decoded): Record<string, string | undefined> =>
  Object.fromEntries(decoded.resourceMetrics[0]?.resource.attributes.map((a) => [a.key, a.value.stringValue]) ?? []);

describe('replaying a captured export as another pod', () => {
  let payload: Buffer;
  beforeAll(async () => {
    payload = await capturedExport();
  });

  test('finds every data point and its collection time', () => {
    const layout = exportLayout(payload);
    expect(layout.points).toBe(4);
    expect(layout.timeOffsets).toHaveLength(4);
    const original = points(decode(payload));
    expect(layout.timeOffsets.map((offset) => payload.readBigUInt64LE(offset).toString())).toEqual(original.map((point) => point.timeUnixNano));
  });

  test('the stamped copy is the same export from pod 42 at the new time, nothing else changed', () => {
    const template = exportTemplate(payload, MARKER);
    expect(template.markerOffsets).toHaveLength(2);
    const time = 1_800_000_000_123_456_789n;
    const stamped = stampExport(template, podIdentity(MARKER, 42), time);
    expect(stamped.length).toBe(payload.length);

    const before = decode(payload);
    const after = decode(stamped);
    expect(resourceOf(after)).toEqual({ ...resourceOf(before), 'service.instance.id': 'capacity-4x4x2-000042', 'k8s.pod.name': 'capacity-4x4x2-000042' });
    const [old, fresh] = [points(before), points(after)];
    expect(fresh.map((p) => p.timeUnixNano)).toEqual(fresh.map(() => time.toString()));
    expect(fresh.map(({ timeUnixNano: _, ...rest }) => rest)).toEqual(old.map(({ timeUnixNano: _, ...rest }) => rest));
    // The template itself is untouched, so every copy starts from the capture.
    expect(template.payload.equals(payload)).toBe(true);
  });

  test('identities keep the marker\'s length, and a payload without the marker is refused', () => {
    expect(podIdentity(MARKER, 7)).toBe('capacity-4x4x2-000007');
    expect(() => podIdentity(MARKER, 10_000_000)).toThrow(WireError);
    expect(() => exportTemplate(payload, 'not-in-there-000000')).toThrow(WireError);
    expect(() => stampExport(exportTemplate(payload, MARKER), 'short', 1n)).toThrow(WireError);
  });

  test('a truncated payload is a WireError, not a wrong layout', () => {
    expect(() => exportLayout(payload.subarray(0, payload.length - 3))).toThrow(WireError);
  });
});
