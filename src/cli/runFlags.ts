/**
 * Every flag of `genai-sidecar run`: its environment fallbacks, its default, and how it is
 * parsed. The help text and docs/configuration.md are generated from this one table.
 */
import { DEFAULT_SERVER_LIMITS, type HeaderAttribute, type HostPort, type SidecarConfig } from '../config/config';
import { ConfigError } from '../config/errors';
import { resolveRoutes, withSigningRegions } from '../config/routes';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log/logger';
import { defaultRoutes } from '../providers/registry';
import { DEFAULT_UPSTREAM_TIMEOUTS } from '../proxy/upstreamPool';
import { loadPriceOverrides } from '../pricing/loadPrices';
import { PriceFileError } from '../pricing/priceFile';
import type { PriceOverride } from '../pricing/priceFile';
import { SEMCONV, type SemconvSet } from '../telemetry/names';
import type { MetricsExporters, OtlpProtocol } from '../telemetry/pipeline';
import { allValues, lastValue, lookupFlag, parseHostPort, type Env, type FlagDefinition, type RawFlags } from './flagTable';

export type { Env, FlagDefinition, RawFlags } from './flagTable';

const publicRoutes = (): string => defaultRoutes().map((route) => route.route).join(', ');

export const RUN_FLAGS: readonly FlagDefinition[] = [
  { flags: '--listen <host:port>', key: 'listen', description: 'Address the proxy listens on; keep it on loopback so only the pod can use it', env: ['GENAI_SIDECAR_LISTEN'], defaultText: '127.0.0.1:8787' },
  { flags: '--admin-listen <host:port>', key: 'adminListen', description: 'Address of /healthz, /readyz and /metrics', env: ['GENAI_SIDECAR_ADMIN_LISTEN'], defaultText: '127.0.0.1:8788' },
  { flags: '--upstream <route[:provider]=url>', key: 'upstream', description: 'Route /<route>/... to <url>/...; the provider is inferred from a known route name or given after a colon (repeatable; env is comma-separated)', env: ['GENAI_SIDECAR_UPSTREAMS'], defaultText: `public endpoints of ${publicRoutes()}`, repeatable: true },
  { flags: '--metrics-exporter <list>', key: 'metricsExporter', description: 'Where metrics go: otlp (push to a collector), prometheus (serve /metrics on the admin port), both as otlp,prometheus, or none', env: ['OTEL_METRICS_EXPORTER'], defaultText: 'otlp,prometheus' },
  { flags: '--semconv-opt-in <list>', key: 'semconvOptIn', description: 'gen_ai_latest_experimental: record the GenAI conventions\' newer client metrics (gen_ai.client.inference.*) instead of the v1.41 ones; other values are ignored, as other instrumentations may share the variable', env: ['OTEL_SEMCONV_STABILITY_OPT_IN'] },
  { flags: '--otlp-endpoint <url>', key: 'otlpEndpoint', description: 'OTLP/HTTP endpoint; /v1/metrics is appended unless present (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as-is)', env: ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'], defaultText: 'http://localhost:4318' },
  { flags: '--otlp-protocol <protocol>', key: 'otlpProtocol', description: 'OTLP encoding: http/protobuf or http/json', env: ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], defaultText: 'http/protobuf' },
  { flags: '--otlp-header <key=value>', key: 'otlpHeader', description: 'Header sent with every export, e.g. an auth token (repeatable; env is comma-separated)', env: ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'], repeatable: true },
  { flags: '--export-interval <ms>', key: 'exportInterval', description: 'Milliseconds between metric exports', env: ['OTEL_METRIC_EXPORT_INTERVAL'], defaultText: '60000' },
  { flags: '--export-timeout <ms>', key: 'exportTimeout', description: 'Milliseconds an export may take before it is abandoned', env: ['OTEL_METRIC_EXPORT_TIMEOUT'], defaultText: '30000' },
  { flags: '--service-name <name>', key: 'serviceName', description: 'service.name resource attribute (Prometheus `job`)', env: ['OTEL_SERVICE_NAME'], defaultText: 'genai-sidecar' },
  { flags: '--resource-attribute <key=value>', key: 'resourceAttribute', description: 'Extra resource attribute, e.g. k8s.pod.name=... (repeatable; env is comma-separated)', env: ['OTEL_RESOURCE_ATTRIBUTES'], repeatable: true },
  { flags: '--header-attribute <header=attribute>', key: 'headerAttribute', description: 'Copy a request header into a metric attribute, e.g. x-tenant-id=tenant (repeatable; env is comma-separated)', env: ['GENAI_SIDECAR_HEADER_ATTRIBUTES'], repeatable: true },
  { flags: '--max-attribute-values <n>', key: 'maxAttributeValues', description: 'Distinct values per attribute (models, error types, each mapped header) before new ones become _OTHER', env: ['GENAI_SIDECAR_MAX_ATTRIBUTE_VALUES'], defaultText: '100' },
  { flags: '--max-body-bytes <n>', key: 'maxBodyBytes', description: 'Largest body parsed for telemetry; larger ones are forwarded unparsed and still counted', env: ['GENAI_SIDECAR_MAX_BODY_BYTES'], defaultText: '8388608' },
  { flags: '--max-buffered-bytes <n>', key: 'maxBufferedBytes', description: 'Memory all request and answer bodies held for telemetry may take together; past it, bodies are forwarded unparsed and still counted', env: ['GENAI_SIDECAR_MAX_BUFFERED_BYTES'], defaultText: '16777216' },
  { flags: '--request-timeout <ms>', key: 'requestTimeout', description: 'Milliseconds a client has to send a whole request (headers and body) before a 408; the answer may stream for as long as it needs', env: ['GENAI_SIDECAR_REQUEST_TIMEOUT'], defaultText: '60000' },
  { flags: '--max-connections <n>', key: 'maxConnections', description: 'Client connections the proxy holds at once; further ones are closed on arrival', env: ['GENAI_SIDECAR_MAX_CONNECTIONS'], defaultText: '512' },
  { flags: '--admin-max-connections <n>', key: 'adminMaxConnections', description: 'Connections the admin port holds at once (it answers only GET and HEAD, with 2 s timeouts)', env: ['GENAI_SIDECAR_ADMIN_MAX_CONNECTIONS'], defaultText: '16' },
  { flags: '--connect-timeout <ms>', key: 'connectTimeout', description: 'Milliseconds to open a connection to an upstream before answering 504', env: ['GENAI_SIDECAR_CONNECT_TIMEOUT'], defaultText: '10000' },
  { flags: '--first-byte-timeout <ms>', key: 'firstByteTimeout', description: 'Milliseconds from sending the request to the response head (long: reasoning models think before answering)', env: ['GENAI_SIDECAR_FIRST_BYTE_TIMEOUT'], defaultText: '600000' },
  { flags: '--idle-timeout <ms>', key: 'idleTimeout', description: 'Milliseconds a response may stay silent between chunks before it is cut', env: ['GENAI_SIDECAR_IDLE_TIMEOUT'], defaultText: '300000' },
  { flags: '--prices <file>', key: 'prices', description: 'JSON price file that extends or overrides the built-in price table', env: ['GENAI_SIDECAR_PRICES'] },
  { flags: '--log-level <level>', key: 'logLevel', description: `Log level: ${LOG_LEVELS.join(', ')}`, env: ['GENAI_SIDECAR_LOG_LEVEL'], defaultText: 'info' },
  { flags: '--log-format <format>', key: 'logFormat', description: `Log format: ${LOG_FORMATS.join(', ')}`, env: ['GENAI_SIDECAR_LOG_FORMAT'], defaultText: 'json' },
  { flags: '--shutdown-grace <ms>', key: 'shutdownGrace', description: 'Milliseconds in-flight calls may take to finish after SIGTERM', env: ['GENAI_SIDECAR_SHUTDOWN_GRACE'], defaultText: '20000' },
];

/** One resolved value and where it came from (for error messages). */
interface Source {
  value: string | string[] | undefined;
  origin: string;
}

function single(key: string, raw: RawFlags, env: Env): Source & { value: string | undefined } {
  const source = lookupFlag(RUN_FLAGS, key, raw, env);
  return { value: lastValue(source), origin: source.origin };
}

function list(key: string, raw: RawFlags, env: Env): Source & { value: string[] } {
  const source = lookupFlag(RUN_FLAGS, key, raw, env);
  return { value: allValues(source), origin: source.origin };
}

/** Turn flags + environment into a complete configuration, or throw a one-line ConfigError. */
export function resolveRunConfig(raw: RawFlags, env: Env, version: string): SidecarConfig {
  const endpoint = resolveMetricsUrl(raw, env);
  const prices = single('prices', raw, env);
  const upstreams = list('upstream', raw, env);
  const serviceName = single('serviceName', raw, env);
  return {
    listen: hostPort(single('listen', raw, env), '127.0.0.1:8787'),
    adminListen: hostPort(single('adminListen', raw, env), '127.0.0.1:8788'),
    routes: withSigningRegions(resolveRoutes(upstreams.value, upstreams.origin), env),
    telemetry: {
      metricsUrl: endpoint,
      protocol: protocol(single('otlpProtocol', raw, env)),
      headers: keyValues(list('otlpHeader', raw, env), { percentDecode: true, secretValues: true }),
      exportIntervalMs: positiveInt(single('exportInterval', raw, env), 60_000),
      exportTimeoutMs: positiveInt(single('exportTimeout', raw, env), 30_000),
      serviceName: nonEmpty(serviceName, 'genai-sidecar'),
      resourceAttributes: keyValues(list('resourceAttribute', raw, env), { percentDecode: true, secretValues: false }),
      version,
      exporters: metricsExporters(single('metricsExporter', raw, env)),
    },
    headerAttributes: headerAttributes(list('headerAttribute', raw, env)),
    maxAttributeValues: positiveInt(single('maxAttributeValues', raw, env), 100),
    semconv: semconvSet(single('semconvOptIn', raw, env)),
    maxBodyBytes: positiveInt(single('maxBodyBytes', raw, env), 8 * 1024 * 1024),
    maxBufferedBytes: positiveInt(single('maxBufferedBytes', raw, env), DEFAULT_SERVER_LIMITS.maxBufferedBytes),
    requestTimeoutMs: positiveInt(single('requestTimeout', raw, env), DEFAULT_SERVER_LIMITS.requestTimeoutMs),
    maxConnections: positiveInt(single('maxConnections', raw, env), DEFAULT_SERVER_LIMITS.maxConnections),
    adminMaxConnections: positiveInt(single('adminMaxConnections', raw, env), DEFAULT_SERVER_LIMITS.adminMaxConnections),
    upstreamTimeouts: {
      connectMs: positiveInt(single('connectTimeout', raw, env), DEFAULT_UPSTREAM_TIMEOUTS.connectMs),
      firstByteMs: positiveInt(single('firstByteTimeout', raw, env), DEFAULT_UPSTREAM_TIMEOUTS.firstByteMs),
      idleMs: positiveInt(single('idleTimeout', raw, env), DEFAULT_UPSTREAM_TIMEOUTS.idleMs),
    },
    pricesFile: prices.value,
    priceOverrides: priceOverrides(prices),
    logLevel: oneOf(single('logLevel', raw, env), LOG_LEVELS, 'info') as LogLevel,
    logFormat: oneOf(single('logFormat', raw, env), LOG_FORMATS, 'json') as LogFormat,
    shutdownGraceMs: positiveInt(single('shutdownGrace', raw, env), 20_000),
  };
}

function priceOverrides(source: Source & { value: string | undefined }): PriceOverride[] {
  try {
    return loadPriceOverrides(source.value);
  } catch (error) {
    if (error instanceof PriceFileError) throw new ConfigError(`${source.origin}: ${error.message}`);
    throw error;
  }
}

function resolveMetricsUrl(raw: RawFlags, env: Env): string {
  const source = single('otlpEndpoint', raw, env);
  const value = source.value ?? 'http://localhost:4318';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${source.origin}: "${value}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source.origin}: "${value}" must be an http or https URL (OTLP/gRPC is not supported)`);
  }
  // The signal-specific variable is a complete URL; everything else is a base URL.
  if (source.origin === 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' || /\/v1\/metrics\/?$/.test(url.pathname)) return url.href;
  // Append to the path, not the whole href: a query string must stay at the end.
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return url.href;
}

/** OTEL_SEMCONV_STABILITY_OPT_IN is a list shared by every instrumentation: only our value counts. */
function semconvSet(source: Source & { value: string | undefined }): SemconvSet {
  const values = (source.value ?? '').split(',').map((value) => value.trim().toLowerCase());
  return values.includes(SEMCONV.optInValue) ? 'latest' : 'v1_41';
}

/** OTEL_METRICS_EXPORTER's values that mean something here; `none` alone turns both off. */
function metricsExporters(source: Source & { value: string | undefined }): MetricsExporters {
  const names = (source.value ?? 'otlp,prometheus').split(',').map((name) => name.trim().toLowerCase());
  for (const name of names) {
    if (name !== 'otlp' && name !== 'prometheus' && name !== 'none') {
      throw new ConfigError(`${source.origin}: "${name}" is not supported; use otlp, prometheus, otlp,prometheus or none`);
    }
  }
  if (names.includes('none') && names.length > 1) throw new ConfigError(`${source.origin}: "none" cannot be combined with other exporters`);
  return { otlp: names.includes('otlp'), prometheus: names.includes('prometheus') };
}

function nonEmpty(source: Source & { value: string | undefined }, fallback: string): string {
  if (source.value === undefined) return fallback;
  if (source.value.trim() === '') throw new ConfigError(`${source.origin}: must not be empty`);
  return source.value;
}

function hostPort(source: Source & { value: string | undefined }, fallback: string): HostPort {
  const text = source.value ?? fallback;
  const parsed = parseHostPort(text);
  if (!parsed) throw new ConfigError(`${source.origin}: "${text}" must be <host>:<port>, e.g. 127.0.0.1:8787`);
  return parsed;
}

function protocol(source: Source & { value: string | undefined }): OtlpProtocol {
  const value = source.value ?? 'http/protobuf';
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new ConfigError(`${source.origin}: "${value}" is not supported; use http/protobuf or http/json`);
}

function positiveInt(source: Source & { value: string | undefined }, fallback: number): number {
  if (source.value === undefined) return fallback;
  if (!/^\d+$/.test(source.value) || Number(source.value) <= 0 || !Number.isSafeInteger(Number(source.value))) {
    throw new ConfigError(`${source.origin}: "${source.value}" must be a positive whole number`);
  }
  return Number(source.value);
}

function oneOf(source: Source & { value: string | undefined }, allowed: readonly string[], fallback: string): string {
  const value = source.value ?? fallback;
  if (!allowed.includes(value)) throw new ConfigError(`${source.origin}: "${value}" must be one of ${allowed.join(', ')}`);
  return value;
}

interface KeyValueParsing {
  /** OTEL_* list values are percent-encoded per the OTel spec. */
  percentDecode: boolean;
  /** Values may be credentials (export headers): error messages name the key, never the value. */
  secretValues: boolean;
}

/** `key=value` pairs. */
function keyValues(source: Source & { value: string[] }, parsing: KeyValueParsing): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [index, item] of source.value.entries()) {
    const equals = item.indexOf('=');
    const key = equals > 0 ? item.slice(0, equals).trim() : '';
    if (!key) {
      const shown = parsing.secretValues ? `entry ${index + 1} (not shown: it may hold a credential)` : `"${item}"`;
      throw new ConfigError(`${source.origin}: ${shown} must be key=value`);
    }
    const value = item.slice(equals + 1).trim();
    if (!parsing.percentDecode) {
      out[key] = value;
      continue;
    }
    const decodedKey = decode(key, `"${key}"`, source.origin);
    out[decodedKey] = decode(value, parsing.secretValues ? `the value of "${key}" (not shown: it may hold a credential)` : `"${value}"`, source.origin);
  }
  return out;
}

function headerAttributes(source: Source & { value: string[] }): HeaderAttribute[] {
  const pairs = keyValues(source, { percentDecode: false, secretValues: false });
  return Object.entries(pairs).map(([header, attribute]) => {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) throw new ConfigError(`${source.origin}: "${header}" is not a valid header name`);
    if (!/^[a-z][a-z0-9_.]{0,62}$/.test(attribute)) {
      throw new ConfigError(`${source.origin}: attribute "${attribute}" must be lower-case letters, digits, "_" or "." and start with a letter`);
    }
    return { header: header.toLowerCase(), attribute };
  });
}

/** `shown` is how the error message names the text. */
function decode(text: string, shown: string, origin: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(`${origin}: ${shown} has an invalid percent-encoding`);
  }
}
