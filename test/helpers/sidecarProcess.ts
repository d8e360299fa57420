/**
 * The built sidecar as a real process (`node dist/src/cli/main.js run`), exporting to a real
 * collector, with routes to a fake provider.
 */
import { cleanEnv, startCli, type CliProcess } from './cliProcess';

export interface SidecarProcessOptions {
  /** Route names, each pointed at `providerUrl`. */
  routes: string[];
  providerUrl: string;
  /** The collector's OTLP/HTTP base URL. */
  otlpEndpoint: string;
  exportIntervalMs: number;
  resourceAttributes: Record<string, string>;
  headerAttributes?: string[];
  serviceName?: string;
  /** More `run` flags, e.g. ['--metrics-exporter', 'prometheus']. */
  extraArgs?: string[];
  /** More environment variables for the process. */
  env?: Record<string, string>;
}

export interface SidecarProcess {
  url: string;
  /** The admin port's base URL (/healthz, /readyz, /metrics). */
  adminUrl: string;
  cli: CliProcess;
  stop(): Promise<void>;
}

export async function startSidecarProcess(options: SidecarProcessOptions): Promise<SidecarProcess> {
  const args = [
    'run',
    '--listen', '127.0.0.1:0',
    '--admin-listen', '127.0.0.1:0',
    ...options.routes.flatMap((route) => ['--upstream', `${route}=${options.providerUrl}`]),
    '--otlp-endpoint', options.otlpEndpoint,
    '--otlp-protocol', 'http/protobuf',
    '--export-interval', String(options.exportIntervalMs),
    '--export-timeout', String(Math.max(500, options.exportIntervalMs - 100)),
    '--service-name', options.serviceName ?? 'genai-sidecar',
    ...Object.entries(options.resourceAttributes).flatMap(([key, value]) => ['--resource-attribute', `${key}=${value}`]),
    ...(options.headerAttributes ?? []).flatMap((mapping) => ['--header-attribute', mapping]),
    '--log-format', 'json',
    '--log-level', 'info',
    ...(options.extraArgs ?? []),
  ];
  const cli = startCli(args, cleanEnv(options.env));
  const ready = await cli.waitForJsonLine((line) => line.msg === 'genai-sidecar ready', 20_000);
  return {
    url: String(ready.listen),
    adminUrl: String(ready.admin),
    cli,
    async stop() {
      // SIGTERM: the sidecar flushes its metrics once more before it exits, as in a pod.
      cli.child.kill('SIGTERM');
      await cli.exited(30_000).catch(() => cli.kill());
    },
  };
}
