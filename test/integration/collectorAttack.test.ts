/**
 * A million-series attack on the writer collector, inside the memory its Kubernetes manifest
 * gives it: the shipped collector-config.yaml runs in a cgroup with the StatefulSet's
 * limits.memory and GOMEMLIMIT (k8s/collector/writer-statefulset.yaml), so memory_limiter reads
 * the same limit it reads in a pod and the kernel kills it past that limit, as in a pod.
 *
 * The attacker is a writer with one million distinct series (a new gen_ai.request.model value
 * each: an attribute on the allow-list, so nothing drops it) exporting all of them five times,
 * while remote write is answered 503, so the exporter queue keeps all of it: the worst case. The collector must refuse (an error the sender
 * can retry), stay alive and under its limit, and take normal exports again once the queue has
 * drained. The remote-write target here is a stub: what is tested is the collector's memory.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { COLLECTOR } from '../../src/telemetry/collectorNames';
import { createMemoryCgroup, REPO_ROOT, sampleSum, startCollector, WRITER_CONFIG, type MemoryCgroup, type RunningCollector } from '../helpers/otelcol';
import { startWriter } from '../helpers/writer';

jest.setTimeout(300_000);

const SERIES = 1_000_000;
/** A writer with a million series exports all of them every interval: the same million, again. */
const EXPORTS = 5;
const SERIES_PER_REQUEST = 5_000;
const IN_FLIGHT = 4;
const ATTACK_MAX_MS = 150_000;
const MiB = 1024 * 1024;

/** limits.memory and GOMEMLIMIT of the writer container, as shipped. */
function writerMemory(): { limitBytes: number; goMemLimit: string } {
  const documents = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'k8s/collector/writer-statefulset.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const statefulSet = documents.find((d) => d.kind === 'StatefulSet') as { spec: { template: { spec: { containers: Array<{ resources: { limits: { memory: string } }; env?: Array<{ name: string; value?: string }> }> } } } };
  const container = statefulSet.spec.template.spec.containers[0];
  if (!container) throw new Error('no writer container');
  const memory = /^(\d+)(Mi|Gi)$/.exec(container.resources.limits.memory);
  if (!memory) throw new Error(`unexpected memory limit ${container.resources.limits.memory}`);
  const goMemLimit = container.env?.find((e) => e.name === 'GOMEMLIMIT')?.value;
  if (!goMemLimit) throw new Error('the writer sets no GOMEMLIMIT');
  return { limitBytes: Number(memory[1]) * (memory[2] === 'Gi' ? 1024 : 1) * MiB, goMemLimit };
}

interface Stub {
  url: string;
  status: number;
  requests: number;
  close(): Promise<void>;
}

async function startRemoteWriteStub(): Promise<Stub> {
  const stub = { status: 503, requests: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      stub.requests += 1;
      res.writeHead(stub.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return Object.assign(stub, {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function attackBody(first: number, count: number, nowNanos: string): string {
  const points: string[] = [];
  for (let i = first; i < first + count; i += 1) {
    points.push(
      `{"asDouble":1,"timeUnixNano":"${nowNanos}","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"attack-model-${i}"}},{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}`,
    );
  }
  return (
    '{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"attacker"}},{"key":"service.instance.id","value":{"stringValue":"attacker-1"}}]},' +
    `"scopeMetrics":[{"metrics":[{"name":"genai_sidecar.client.cost.usd","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[${points.join(',')}]}}]}]}]}`
  );
}

let cgroup: MemoryCgroup;
let collector: RunningCollector;
let stub: Stub;
const memory = writerMemory();
const outcome = { accepted: 0, refused: 0, refusedStatuses: new Set<number>(), seriesSent: 0, peakBytes: 0, diedDuring: false, ms: 0, recoveredAfterMs: -1, refusedPoints: 0 };

beforeAll(async () => {
  stub = await startRemoteWriteStub();
  cgroup = createMemoryCgroup('genai-otelcol-attack', memory.limitBytes);
  collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: stub.url, memoryCgroup: cgroup.dir, env: { GOMEMLIMIT: memory.goMemLimit } });

  const url = `${collector.otlpHttpUrl}/v1/metrics`;
  const started = Date.now();
  let next = 0;
  const total = SERIES * EXPORTS;
  const worker = async (): Promise<void> => {
    while (next < total && Date.now() - started < ATTACK_MAX_MS && collector.exitCode() === null) {
      const first = next % SERIES;
      next += SERIES_PER_REQUEST;
      const body = attackBody(first, SERIES_PER_REQUEST, `${Date.now()}000000`);
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
      if (response === undefined) {
        outcome.diedDuring = collector.exitCode() !== null;
        continue;
      }
      await response.arrayBuffer();
      outcome.seriesSent += SERIES_PER_REQUEST;
      if (response.ok) outcome.accepted += 1;
      else {
        outcome.refused += 1;
        outcome.refusedStatuses.add(response.status);
      }
    }
  };
  const watcher = setInterval(() => (outcome.peakBytes = Math.max(outcome.peakBytes, cgroup.maxUsageBytes())), 250);
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()));
  outcome.ms = Date.now() - started;
  outcome.refusedPoints = sampleSum(await collector.selfMetrics().catch(() => ''), COLLECTOR.receiverRefused) ?? 0;

  // Remote write recovers: the queue drains, memory falls, and a sidecar's export gets in again.
  stub.status = 204;
  const recovery = Date.now();
  const writer = startWriter(collector.otlpHttpUrl, { 'k8s.pod.name': 'after-attack' });
  writer.record(1, { 'gen_ai.provider.name': 'openai' });
  while (Date.now() - recovery < 120_000 && collector.exitCode() === null) {
    if (await writer.flush()) {
      outcome.recoveredAfterMs = Date.now() - recovery;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await writer.close();
  clearInterval(watcher);
  outcome.peakBytes = Math.max(outcome.peakBytes, cgroup.maxUsageBytes());
  process.stdout.write(
    `[collectorAttack] ${outcome.seriesSent.toLocaleString('en-US')} points (${EXPORTS} exports of ${SERIES.toLocaleString('en-US')} series) in ${(outcome.ms / 1000).toFixed(1)} s: ${outcome.accepted} requests accepted, ` +
      `${outcome.refused} refused (HTTP ${[...outcome.refusedStatuses].join('/')}, ${outcome.refusedPoints.toLocaleString('en-US')} points), ` +
      `peak memory ${(outcome.peakBytes / MiB).toFixed(0)} MiB of a ${(memory.limitBytes / MiB).toFixed(0)} MiB limit (GOMEMLIMIT ${memory.goMemLimit}), ` +
      `normal exports accepted again ${(outcome.recoveredAfterMs / 1000).toFixed(1)} s after remote write recovered\n`,
  );
});

afterAll(async () => {
  await collector?.close();
  cgroup?.remove();
  await stub?.close();
});

test('the whole attack was sent within the time bound', () => {
  expect(outcome.seriesSent).toBe(SERIES * EXPORTS);
});

test('the collector stayed alive: no exit, no OOM kill in its cgroup', () => {
  expect({ exit: collector.exitCode(), signal: collector.exitSignal(), diedDuring: outcome.diedDuring, oomKills: cgroup.oomKills() }).toEqual({
    exit: null,
    signal: null,
    diedDuring: false,
    oomKills: 0,
  });
});

test('it refused part of the attack with an error a sender retries, and counted the refused points', () => {
  expect(outcome.refused).toBeGreaterThan(0);
  for (const status of outcome.refusedStatuses) expect([429, 503]).toContain(status);
  expect(outcome.refusedPoints).toBeGreaterThan(0);
});

test('its memory never reached the container limit (the kernel counts every time it does)', () => {
  expect(cgroup.limitHits()).toBe(0);
  expect(outcome.peakBytes).toBeLessThan(memory.limitBytes);
});

test('once remote write recovered, a normal export was accepted again', () => {
  expect(outcome.recoveredAfterMs).toBeGreaterThanOrEqual(0);
  expect(stub.requests).toBeGreaterThan(0);
});
