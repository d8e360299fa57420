/**
 * The metrics SDK is built after the sidecar is ready (start-up budget), yet nothing recorded
 * before that is lost: per-call metrics and telemetry errors from before `start()` are in the
 * first export, and code waiting for the meter runs once it exists.
 */
import type { Meter } from '@opentelemetry/api';
import { silentLogger } from '../../src/log/logger';
import { CallRecorder, type CompletedCall } from '../../src/telemetry/callRecorder';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { startTelemetry, type TelemetryPipeline } from '../../src/telemetry/pipeline';
import { pointsOf } from '../helpers/harness';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';

let receiver: OtlpReceiver;
let telemetry: TelemetryPipeline;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  telemetry = startTelemetry(
    {
      metricsUrl: `${receiver.url}/v1/metrics`,
      protocol: 'http/json',
      headers: {},
      exportIntervalMs: 3_600_000,
      exportTimeoutMs: 5_000,
      serviceName: 'start-test',
      resourceAttributes: {},
      version: 'test',
      exporters: { otlp: true, prometheus: false },
    },
    silentLogger,
    () => undefined,
  );
});

afterAll(async () => {
  await telemetry.shutdown();
  await receiver.close();
});

const CALL: CompletedCall = {
  providerName: 'openai',
  serverAddress: 'api.openai.com',
  serverPort: 443,
  operation: 'chat',
  requestModel: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini-2024-07-18',
  httpStatus: 200,
  durationSeconds: 0.25,
  chunkGapsSeconds: [],
  usage: { input: 11, output: 7 },
  costUsd: 0.001,
  extraAttributes: {},
  rateLimits: [{ resource: 'requests', remaining: 99, limit: 100 }],
};

test('calls and telemetry errors recorded before start() are in the first export; meter users run at start', async () => {
  const recorder = new CallRecorder(telemetry, { maxAttributeValues: 10 });
  const metersSeen: Meter[] = [];
  telemetry.withMeter((meter) => metersSeen.push(meter));
  recorder.record(CALL);
  recorder.record(CALL);
  recorder.telemetryError('cost');
  recorder.telemetryError('cost');
  recorder.telemetryError('export');
  expect(metersSeen).toHaveLength(0);
  expect(receiver.requests).toHaveLength(0);

  telemetry.start();
  telemetry.start();
  expect(metersSeen).toHaveLength(1);
  // After start, a meter user runs at once.
  telemetry.withMeter((meter) => metersSeen.push(meter));
  expect(metersSeen).toHaveLength(2);

  await telemetry.flush();
  const points = receiver.latest();
  expect(pointsOf(points, METRICS.operationDuration.name, { [ATTR.requestModel]: 'gpt-4o-mini' })[0]?.count).toBe(2);
  expect(pointsOf(points, METRICS.tokenUsage.name, { [ATTR.tokenType]: 'input' })[0]?.sum).toBe(22);
  expect(pointsOf(points, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'cost' })[0]?.value).toBe(2);
  expect(pointsOf(points, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'export' })[0]?.value).toBe(1);
  // The rate-limit gauges were registered at start and observe the reading made before it.
  expect(pointsOf(points, METRICS.rateLimitRemaining.name, { [ATTR.rateLimitResource]: 'requests' })[0]?.value).toBe(99);

  recorder.telemetryError('cost');
  await telemetry.flush();
  expect(pointsOf(receiver.latest(), METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'cost' })[0]?.value).toBe(3);
});

test('flush() on a pipeline never started starts it (a sidecar stopped within its first second still exports)', async () => {
  const other = await startOtlpReceiver();
  const early = startTelemetry(
    { metricsUrl: `${other.url}/v1/metrics`, protocol: 'http/json', headers: {}, exportIntervalMs: 3_600_000, exportTimeoutMs: 5_000, serviceName: 'early', resourceAttributes: {}, version: 'test', exporters: { otlp: true, prometheus: false } },
    silentLogger,
    () => undefined,
  );
  try {
    new CallRecorder(early, { maxAttributeValues: 10 }).record(CALL);
    await early.shutdown();
    expect(pointsOf(other.latest(), METRICS.operationDuration.name)[0]?.count).toBe(1);
  } finally {
    await other.close();
  }
});
