/**
 * A real Prometheus (Debian's build, fetched into .cache/prometheus by
 * scripts/fetch-prometheus.sh) on loopback, with its remote-write receiver on, plus a small
 * remote-write client (protobuf + snappy, as the Collector's exporter sends) and query helper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import SnappyJS from 'snappyjs';

export const PROMETHEUS_BIN_DIR = path.resolve(__dirname, '../../.cache/prometheus/usr/bin');

export interface Sample {
  value: number;
  timestampMs: number;
}

export interface TimeSeries {
  labels: Record<string, string>;
  samples: Sample[];
}

export interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  url: string;
  write(series: TimeSeries[]): Promise<void>;
  query(expr: string, timeSeconds: number): Promise<QueryResult[]>;
  stop(): Promise<void>;
}

/** Prometheus remote-write 1.0 messages (prometheus/prompb), the subset the exporter sends. */
const REMOTE_WRITE = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
}).lookupType('prometheus.WriteRequest');

export function requirePrometheus(): string {
  const binary = path.join(PROMETHEUS_BIN_DIR, 'prometheus');
  if (!existsSync(binary)) {
    throw new Error(`Prometheus is not installed at ${binary}: run scripts/fetch-prometheus.sh (make test does)`);
  }
  return binary;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startPrometheus(): Promise<RunningPrometheus> {
  const binary = requirePrometheus();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    try {
      const ready = await fetch(`${url}/-/ready`);
      if (ready.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready in time: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    async write(series) {
      const message = REMOTE_WRITE.fromObject({
        timeseries: series.map((s) => ({
          labels: Object.entries(s.labels)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([name, value]) => ({ name, value })),
          samples: s.samples.map((sample) => ({ value: sample.value, timestamp: sample.timestampMs })),
        })),
      });
      const body = SnappyJS.compress(REMOTE_WRITE.encode(message).finish());
      const response = await fetch(`${url}/api/v1/write`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
        },
        body,
      });
      if (!response.ok) throw new Error(`remote write failed: ${response.status} ${await response.text()}`);
    },
    async query(expr, timeSeconds) {
      const params = new URLSearchParams({ query: expr, time: String(timeSeconds) });
      const response = await fetch(`${url}/api/v1/query?${params.toString()}`);
      const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: QueryResult[] } };
      if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error ?? response.status}`);
      const result = body.data?.result ?? [];
      return body.data?.resultType === 'scalar' ? [{ metric: {}, value: result as unknown as [number, string] }] : result;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
