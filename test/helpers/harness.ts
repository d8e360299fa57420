/**
 * Starts the real sidecar (through the same flag resolution the CLI uses) between a fake
 * provider and an OTLP receiver, all on loopback port 0.
 */
import { resolveRunConfig, type RawFlags } from '../../src/cli/runFlags';
import { createLogger, type LogSink } from '../../src/log/logger';
import { startSidecar, type RunningSidecar } from '../../src/sidecar';
import { TEST_AWS_ENV } from './cliProcess';
import { startFakeProvider, type FakeProvider } from './fakeProvider';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from './otlpReceiver';

export interface Harness {
  provider: FakeProvider;
  receiver: OtlpReceiver;
  sidecar: RunningSidecar;
  logLines: string[];
  /** Flush metrics until `predicate` holds over the newest cumulative points. */
  metrics(predicate: (points: ReceivedPoint[]) => boolean, timeoutMs?: number): Promise<ReceivedPoint[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Route names to point at the fake provider, e.g. ['openai', 'anthropic', 'local:vllm']. */
  routes: string[];
  /** A path after the fake provider's origin for some routes, e.g. { 'gateway:openai': '/base/' }. */
  upstreamPaths?: Record<string, string>;
  /** Extra flags; as a function it gets the fake provider's and the receiver's URLs (e.g. to put canaries in them). */
  flags?: RawFlags | ((urls: { provider: string; receiver: string }) => RawFlags);
  protocol?: 'http/json' | 'http/protobuf';
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const provider = await startFakeProvider();
  const receiver = await startOtlpReceiver();
  const flags = typeof options.flags === 'function' ? options.flags({ provider: provider.url, receiver: receiver.url }) : options.flags;
  const config = resolveRunConfig(
    {
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      upstream: options.routes.map((route) => `${route}=${provider.url}${options.upstreamPaths?.[route] ?? ''}`),
      otlpEndpoint: receiver.url,
      otlpProtocol: options.protocol ?? 'http/json',
      // Tests flush explicitly; a long interval keeps background exports out of the way.
      exportInterval: '3600000',
      logLevel: 'debug',
      ...flags,
    },
    // The region routes that sign their requests (Bedrock) sign for; the fake provider's host names none.
    { AWS_REGION: TEST_AWS_ENV.AWS_REGION },
    'test',
  );
  const logLines: string[] = [];
  const sink: LogSink = { write: (line: string) => logLines.push(line) };
  const identity = { accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID as string, secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY as string };
  const sidecar = await startSidecar(config, createLogger(config.logLevel, config.logFormat, sink), { awsCredentials: async () => identity });
  return {
    provider,
    receiver,
    sidecar,
    logLines,
    async metrics(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await sidecar.telemetry.flush();
        const points = receiver.latest();
        if (predicate(points)) return points;
        if (Date.now() > deadline) {
          const names = [...new Set(points.map((p) => p.metric))].join(', ');
          throw new Error(`metrics never matched; have ${points.length} points (${names})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      await sidecar.stop();
      await provider.close();
      await receiver.close();
    },
  };
}

/** Points of one metric whose attributes include all of `match`. */
export function pointsOf(points: ReceivedPoint[], metric: string, match: Record<string, string | number> = {}): ReceivedPoint[] {
  return points.filter(
    (point) => point.metric === metric && Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
}
