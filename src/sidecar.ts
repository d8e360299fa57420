/**
 * Starts and stops a sidecar: telemetry pipeline, price table, proxy listener, admin listener.
 * Used by `genai-sidecar run` and, unchanged, by the integration tests.
 */
import http from 'node:http';
import { BlockList, isIPv4, isIPv6, type AddressInfo } from 'node:net';
import type { SidecarConfig } from './config/config';
import { createLogger, type Logger } from './log/logger';
import { redactUrl } from './log/redact';
import { CostCalculator } from './pricing/costCalculator';
import { createAdminServer } from './proxy/admin';
import type { AwsCredentialProvider } from './aws/credentials';
import type { RouteSigners } from './aws/routeSigners';
import { createProxyApp } from './proxy/app';
import { createBodyBudget } from './proxy/bodyBudget';
import type { ExchangeServices } from './proxy/exchange';
import { acceptH2c, type H2cSessions } from './proxy/h2c';
import { createHeaderAttributeMapper } from './proxy/headerAttributes';
import { createRefusalLog } from './proxy/refusalLog';
import { guardProxyHandler, handleClientErrors, proxyServerOptions } from './proxy/serverGuards';
import { createUpstreamPool } from './proxy/upstreamPool';
import { CallRecorder } from './telemetry/callRecorder';
import { ERROR_TYPE, SEMCONV } from './telemetry/names';
import { startTelemetry, type TelemetryPipeline } from './telemetry/pipeline';
import { createMetricsPages } from './telemetry/pullEndpoint';
import { scheduleWarmUp } from './warmUp';

/** Upper bound on the metrics flush at shutdown, after in-flight calls had their grace period. */
const FINAL_FLUSH_MAX_MS = 5_000;
const IDLE_SWEEP_MS = 50;
const WARM_UP_DELAY_MS = 1_000;

/** All of 127.0.0.0/8 and ::1 (IPv4-mapped forms included): the pod's own network namespace only. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return LOOPBACK.check(host, 'ipv4');
  return isIPv6(host) && LOOPBACK.check(host, 'ipv6');
}

export interface RunningSidecar {
  /** Base URL of the proxy, e.g. http://127.0.0.1:8787 */
  url: string;
  adminUrl: string;
  telemetry: TelemetryPipeline;
  logger: Logger;
  /** Client connections the proxy holds open now (leak checks: zero once every client has left). */
  openConnections(): Promise<number>;
  /** Stop accepting, let in-flight calls finish (up to the grace period), flush metrics. */
  stop(): Promise<void>;
}

const NO_SIGNERS: RouteSigners = { signers: new Map(), warm: async () => undefined, close: () => undefined };

/**
 * The AWS modules (credential chain, signer) load only when a route signs its requests: loaded
 * always, they added ~25 ms to every start-up and 3 MiB of idle RSS.
 */
function createSigners(routes: SidecarConfig['routes'], options: Parameters<typeof import('./aws/routeSigners').createRouteSigners>[1]): RouteSigners {
  if (!routes.some((route) => route.signing !== undefined)) return NO_SIGNERS;
  return (require('./aws/routeSigners') as typeof import('./aws/routeSigners')).createRouteSigners(routes, options);
}

/** What a caller other than the CLI may provide (tests): where AWS credentials come from. */
export interface SidecarDependencies {
  /** Default: the AWS SDK's default Node credential chain, for routes that sign their requests. */
  awsCredentials?: AwsCredentialProvider;
}

export async function startSidecar(config: SidecarConfig, logger = createLogger(config.logLevel, config.logFormat), dependencies: SidecarDependencies = {}): Promise<RunningSidecar> {
  const costs = new CostCalculator(config.priceOverrides);
  let recorder: CallRecorder | undefined;
  const telemetry = startTelemetry(config.telemetry, logger, () => recorder?.telemetryError('export'));
  recorder = new CallRecorder(telemetry, { maxAttributeValues: config.maxAttributeValues, semconv: config.semconv });
  const activeRecorder = recorder;

  const refusals = createRefusalLog(logger);
  // One budget for request bodies and JSON answers held in full at the same time.
  const bodyBudget = createBodyBudget(config.maxBufferedBytes);
  const services: ExchangeServices = {
    bodyBudget,
    record: (call) => {
      activeRecorder.record(call);
      // The sidecar answered 502/504 itself (no response head came): the upstream's failure, logged
      // like a refusal. A provider's own error status is its answer, not ours, and is not logged.
      if (call.httpStatus === undefined && (call.errorType === ERROR_TYPE.timeout || call.errorType === ERROR_TYPE.connectionError)) {
        const status = call.errorType === ERROR_TYPE.timeout ? 504 : 502;
        refusals.note(`upstream:${status}`, 'upstream call failed', { status, errorType: call.errorType, provider: call.providerName, server: call.serverAddress });
      }
    },
    costUsd: (providerName, requestModel, responseModel, usage) =>
      costs.costUsd({ providerName, requestModel, responseModel, usage }),
    telemetryError: (stage, error) => {
      activeRecorder.telemetryError(stage);
      if (logger.enabled('debug')) logger.debug('telemetry problem, traffic unaffected', { stage, error: describe(error) });
    },
  };
  const upstreamPool = createUpstreamPool(config.upstreamTimeouts);
  // One line per distinct cause, not per call: calls on these routes answer in the API's error shape meanwhile.
  const signing = createSigners(config.routes, {
    ...(dependencies.awsCredentials ? { provider: dependencies.awsCredentials } : {}),
    onFailure: (failure) =>
      logger.warn(failure.servingCached ? 'AWS credentials could not be refreshed; signing with the current ones until they expire' : 'no AWS credentials: calls on routes that sign their requests fail until there are', {
        routes: config.routes.filter((route) => route.signing).map((route) => route.name).join(', '),
        cause: failure.message,
      }),
  });
  const app = createProxyApp({
    routes: config.routes,
    maxBodyBytes: config.maxBodyBytes,
    upstreamPool,
    signers: signing.signers,
    services,
    headerAttributes: createHeaderAttributeMapper(config.headerAttributes, config.maxAttributeValues),
    onRefused: (status, reason, route) => refusals.note(`refused:${status}:${reason}`, 'request refused', { status, reason, route }),
  });

  let accepting = false;
  const handler = guardProxyHandler(app, { budget: bodyBudget, log: refusals });
  const proxyServer = http.createServer(proxyServerOptions(config.requestTimeoutMs), handler);
  // Keep every header field (the 16 KiB header size limit still bounds them); the guard refuses
  // requests with more fields than it forwards faithfully.
  proxyServer.maxHeadersCount = 0;
  proxyServer.maxConnections = config.maxConnections;
  handleClientErrors(proxyServer, refusals);
  // HTTP/2 prior-knowledge connections on the same port, into the same handler.
  const h2c = acceptH2c(proxyServer, handler, refusals);
  const adminServer = createAdminServer(
    { ready: () => accepting },
    { maxConnections: config.adminMaxConnections },
    config.telemetry.exporters.prometheus
      ? {
          metrics: createMetricsPages(telemetry, config.headerAttributes.map((mapping) => mapping.attribute)),
          onMetricsError: (error) => services.telemetryError('scrape', error),
        }
      : {},
  );
  await listen(proxyServer, config.listen.host, config.listen.port);
  await listen(adminServer, config.adminListen.host, config.adminListen.port);
  accepting = true;
  // Credentials are fetched now, in the background, so the first signed call does not wait for them.
  void signing.warm();

  if (!isLoopback(config.listen.host)) {
    logger.warn('the proxy listens beyond loopback: anything that can reach this address can use your upstreams', {
      listen: `${config.listen.host}:${config.listen.port}`,
    });
  }
  if (!isLoopback(config.adminListen.host)) {
    // Expected in Kubernetes (the kubelet probes over the pod network), but worth a line anywhere else.
    logger.warn(`the admin port listens beyond loopback: anything that can reach this address can read ${config.telemetry.exporters.prometheus ? '/healthz, /readyz and /metrics' : '/healthz and /readyz'}`, {
      adminListen: `${config.adminListen.host}:${config.adminListen.port}`,
      maxConnections: config.adminMaxConnections,
    });
  }
  // Off the start-up path: loading the upstream pool (~35 ms) and the metrics SDK and exporter
  // (~120 ms) blocks the event loop, which right after listen() would delay the first readiness
  // answer by as much. A call that arrives before the warm-up builds the pool itself, and its
  // metrics go to bound instruments that need no SDK (see startTelemetry).
  const warmUp = scheduleWarmUp([() => upstreamPool.warm(), ...telemetry.warmUpSteps()], WARM_UP_DELAY_MS, (error) =>
    logger.warn('warm-up step failed; retried on first use', { error: describe(error) }),
  );
  const url = baseUrl(proxyServer);
  const adminUrl = baseUrl(adminServer);
  logger.info('genai-sidecar ready', {
    listen: url,
    admin: adminUrl,
    routes: config.routes.map((route) => `/${route.name} -> ${route.target.origin} (${route.provider.providerName})`).join(', '),
    otlp: config.telemetry.exporters.otlp ? redactUrl(config.telemetry.metricsUrl) : 'off',
    metrics: config.telemetry.exporters.prometheus ? `${adminUrl}/metrics` : 'off',
    semconv: config.semconv === 'latest' ? SEMCONV.optInValue : 'v1.41',
    // Which process serves, and with which node flags (src/cli/launcher.ts may have relaunched it).
    pid: process.pid,
    node_flags: process.execArgv.join(' '),
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      accepting = false;
      warmUp.cancel();
      signing.close();
      await closeGracefully(proxyServer, h2c, config.shutdownGraceMs);
      // A collector that is down must not hold the pod past its grace period (Kubernetes' default is 30 s).
      await withDeadline(telemetry.shutdown(), Math.min(config.telemetry.exportTimeoutMs, FINAL_FLUSH_MAX_MS)).catch((error: unknown) =>
        logger.warn('final metrics flush failed', { error: describe(error) }),
      );
      adminServer.close();
      await upstreamPool.destroy().catch(() => undefined);
    })();
    return stopping;
  };
  const openConnections = (): Promise<number> =>
    new Promise((resolve, reject) => proxyServer.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  return { url, adminUrl, telemetry, logger, openConnections, stop };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function baseUrl(server: http.Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Stop accepting; keep-alive connections close as soon as they are idle, busy ones at the deadline. */
function closeGracefully(server: http.Server, h2c: H2cSessions, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      h2c.destroy();
    }, graceMs);
    // A connection whose stream just finished becomes idle; close it then, not at the deadline.
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    deadline.unref();
    sweep.unref();
    server.close(() => {
      clearTimeout(deadline);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
    // HTTP/2 sessions get a GOAWAY: their streams in flight finish, then each closes.
    h2c.close();
  });
}

function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('deadline exceeded')), ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Error class and code only: messages (e.g. from JSON.parse) can quote request or response content. */
function describe(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  if (!(error instanceof Error)) return typeof error;
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${error.name} (${code})` : error.name;
}
