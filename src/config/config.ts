/** The sidecar's whole configuration, as resolved from flags, environment and defaults. */
import type { LogFormat, LogLevel } from '../log/logger';
import type { PriceOverride } from '../pricing/priceFile';
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
  /** Largest request/response body parsed for telemetry; larger ones pass through unparsed. */
  maxBodyBytes: number;
  upstreamTimeouts: UpstreamTimeouts;
  pricesFile?: string;
  /** Parsed price file entries (empty without --prices). */
  priceOverrides: PriceOverride[];
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** How long in-flight calls may take to finish after SIGTERM. */
  shutdownGraceMs: number;
}
