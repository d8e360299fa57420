/** The sidecar's whole configuration, as resolved from flags, environment and defaults. */
import type { LogFormat, LogLevel } from '../log/logger';
import type { PriceOverride } from '../pricing/priceFile';
import type { SemconvSet } from '../telemetry/names';
import type { TelemetryConfig } from '../telemetry/pipeline';
import type { UpstreamTimeouts } from '../proxy/upstreamPool';
import type { Route } from './routes';

export interface HostPort {
  host: string;
  port: number;
}

export interface HeaderAttribute {
  /** Lower-cased request header name. */
  header: string;
  /** Metric attribute key it becomes. */
  attribute: string;
}

export interface SidecarConfig {
  listen: HostPort;
  adminListen: HostPort;
  routes: Route[];
  telemetry: TelemetryConfig;
  headerAttributes: HeaderAttribute[];
  /** Distinct values per attribute (models, error types, mapped headers) before `_OTHER`. */
  maxAttributeValues: number;
  /** Which GenAI client metrics to record (OTEL_SEMCONV_STABILITY_OPT_IN). */
  semconv: SemconvSet;
  /** Largest request/response body parsed for telemetry; larger ones pass through unparsed. */
  maxBodyBytes: number;
  /** Memory all request bodies held in full at once may take; past it they stream through unparsed. */
  maxBufferedBytes: number;
  /** Time a client has to send a whole request, headers and body (not the answer's time). */
  requestTimeoutMs: number;
  /** Client connections each listener holds at once; more are closed on arrival. */
  maxConnections: number;
  adminMaxConnections: number;
  upstreamTimeouts: UpstreamTimeouts;
  pricesFile?: string;
  /** Parsed price file entries (empty without --prices). */
  priceOverrides: PriceOverride[];
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** How long in-flight calls may take to finish after SIGTERM. */
  shutdownGraceMs: number;
}

/**
 * Defaults of the listener limits. 16 MiB of buffered bodies (two maximum-size bodies, or over a
 * hundred ordinary prompts, at once) kept the sidecar under 128 Mi, the injected limit before
 * it became 192 Mi, leaving room for its idle RSS and the transit buffers of many concurrent large uploads (a
 * 32 MiB budget went past the limit). 60 s to send a request is nginx's client_header_timeout and
 * client_body_timeout. 512 connections is nginx's worker_connections; the admin port only serves
 * the kubelet's probes.
 */
export const DEFAULT_SERVER_LIMITS = Object.freeze({
  maxBufferedBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 60_000,
  maxConnections: 512,
  adminMaxConnections: 16,
});
