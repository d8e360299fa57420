/**
 * Two collector replicas must not interleave one sidecar's samples. The shipped routing tier
 * (collector/router-config.yaml, two replicas) sends each sidecar's exports, keyed on its
 * resource, to ONE of two writers (collector-config.yaml). Each writer remote-writes to its own
 * Prometheus, so a sidecar whose series reached both Prometheus would have been split.
 *
 * In front of the routers sits what a Kubernetes Service with an L7 proxy does: every export goes
 * to the next router in turn. As a control, the same balancer sends other sidecars straight to the
 * two writers (one tier, as before this change): their series land in both Prometheus, which is
 * the interleaving the router tier prevents, and shows this test can see it.
 */
import http from 'node:http';
import net from 'node:net';
import { COLLECTOR } from '../../src/telemetry/collectorNames';
import { LABEL, PROM } from '../../src/telemetry/prometheusNames';
import { dataLossLines, ROUTER_CONFIG, sampleSum, startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startWriter, type Writer } from '../helpers/writer';

jest.setTimeout(180_000);

// Odd counts: the balancers take turns per request, so each sidecar alternates between backends.
const SIDECARS = 13;
const CONTROL_SIDECARS = 3;
const EXPORTS = 4;
const CALL = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.token.type': 'output' };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Balancer {
  url: string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/** Sends each request to the next backend in turn, as a per-request (L7) load balancer does. */
async function startBalancer(backends: string[]): Promise<Balancer> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const backend = backends[next % backends.length] ?? '';
      next += 1;
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string' && !HOP_BY_HOP.has(key)) headers[key] = value;
      fetch(`${backend}${req.url ?? '/'}`, { method: req.method, headers, body: Buffer.concat(parts) }).then(
        async (response) => {
          res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(Buffer.from(await response.arrayBuffer()));
        },
        (error: unknown) => res.writeHead(502).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const prometheus: RunningPrometheus[] = [];
const writerCollectors: RunningCollector[] = [];
const routers: RunningCollector[] = [];
const balancers: Balancer[] = [];
const sidecars: Writer[] = [];
const controls: Writer[] = [];

/** The Prometheus (0 or 1) each instance's series reached, and its newest token count there. */
async function whereWritten(): Promise<Map<string, Array<{ at: number; counts: number[] }>>> {
  const found = new Map<string, Array<{ at: number; counts: number[] }>>();
  for (const [at, server] of prometheus.entries()) {
    for (const series of await server.samples(`${PROM.tokenUsage.count}[30m]`)) {
      const instance = series.metric[LABEL.instance] ?? '';
      found.set(instance, [...(found.get(instance) ?? []), { at, counts: series.values.map(([, value]) => Number(value)) }]);
    }
  }
  return found;
}

beforeAll(async () => {
  for (let i = 0; i < 2; i += 1) prometheus.push(await startPrometheus());
  for (const server of prometheus) writerCollectors.push(await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: server.remoteWriteUrl }));
  const writerAddresses = writerCollectors.map((collector) => collector.otlpGrpcAddress);
  for (let i = 0; i < 2; i += 1) routers.push(await startCollector({ config: ROUTER_CONFIG, writers: writerAddresses }));
  const viaRouters = await startBalancer(routers.map((router) => router.otlpHttpUrl));
  const straight = await startBalancer(writerCollectors.map((collector) => collector.otlpHttpUrl));
  balancers.push(viaRouters, straight);

  for (let i = 0; i < SIDECARS; i += 1) sidecars.push(startWriter(viaRouters.url, { 'k8s.namespace.name': 'shop', 'k8s.workload.name': 'checkout', 'k8s.pod.name': `checkout-${i}` }));
  for (let i = 0; i < CONTROL_SIDECARS; i += 1) controls.push(startWriter(straight.url, { 'k8s.namespace.name': 'shop', 'k8s.workload.name': 'legacy', 'k8s.pod.name': `legacy-${i}` }));
  for (let round = 1; round <= EXPORTS; round += 1) {
    for (const writer of [...sidecars, ...controls]) {
      writer.record(round, CALL);
      if (!(await writer.flush())) throw new Error(`an export of ${writer.instance} was refused`);
    }
    await sleep(1100);
  }
  // Wait until every routed sidecar's last export arrived somewhere.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await whereWritten();
    const arrived = sidecars.every((writer) => (found.get(writer.instance) ?? []).some((place) => place.counts.at(-1) === EXPORTS));
    if (arrived || Date.now() > deadline) break;
    await sleep(500);
  }
});

afterAll(async () => {
  for (const writer of [...sidecars, ...controls]) await writer.close();
  for (const balancer of balancers) await balancer.close();
  for (const collector of [...routers, ...writerCollectors]) await collector.close();
  for (const server of prometheus) await server.close();
});

test('through the routing tier, each sidecar is written by exactly one writer, every export in order', async () => {
  const found = await whereWritten();
  for (const writer of sidecars) {
    const places = found.get(writer.instance) ?? [];
    expect({ instance: writer.instance, writers: places.length }).toEqual({ instance: writer.instance, writers: 1 });
    expect(places[0]?.counts).toEqual(Array.from({ length: EXPORTS }, (_, i) => i + 1));
  }
});

test('the ring spreads sidecars over both writers', async () => {
  const found = await whereWritten();
  const perWriter = [0, 1].map((at) => sidecars.filter((writer) => (found.get(writer.instance) ?? []).some((place) => place.at === at)).length);
  process.stdout.write(`[collectorScaling] ${SIDECARS} sidecars over two writers: ${perWriter.join(' + ')}\n`);
  expect(Math.min(...perWriter)).toBeGreaterThan(0);
});

test('both routers took exports (the balancer alternated), and sent on everything they took', async () => {
  for (const router of routers) {
    const text = await router.selfMetrics();
    expect(sampleSum(text, COLLECTOR.receiverAccepted) ?? 0).toBeGreaterThan(0);
    expect(sampleSum(text, COLLECTOR.exporterSendFailed) ?? 0).toBe(0);
  }
});

test('control: without the routing tier the same balancer splits a sidecar over both writers', async () => {
  const found = await whereWritten();
  for (const writer of controls) expect((found.get(writer.instance) ?? []).length).toBe(2);
});

test('no out-of-order or duplicate samples from the routed sidecars', () => {
  for (const server of prometheus) {
    // The control sidecars' halves never overlap in one Prometheus, so any such line would be ours.
    expect(dataLossLines(server.log())).toEqual([]);
  }
  for (const collector of [...routers, ...writerCollectors]) expect(dataLossLines(collector.log())).toEqual([]);
});
