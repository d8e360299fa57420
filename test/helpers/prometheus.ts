/**
 * A real Prometheus (the release that ships, built from source into .cache by
 * scripts/build-prometheus.sh) on loopback, with its remote-write receiver on and the flags the
 * shipped one runs with: queries, scrape jobs, its log, and a stop/start that keeps its data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../bench/tools';
import { pinnedVersion } from './buildScripts';
import { freePort } from '../../bench/servers/processes';

// Found by walking up to package.json, so this module also runs compiled (the pipeline bench).
const ROOT = repoRoot();
export const PROMETHEUS_BUILD_SCRIPT = 'scripts/build-prometheus.sh';

/** The release the tests run, read from the build script so the version lives in one place. */
export const PROMETHEUS_VERSION = pinnedVersion(PROMETHEUS_BUILD_SCRIPT, 'PROMETHEUS_VERSION');

/** prometheus and promtool, as scripts/build-prometheus.sh leaves them. */
export const PROMETHEUS_BIN_DIR = path.join(ROOT, '.cache', `prometheus-${PROMETHEUS_VERSION}`, 'bin');

export interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface MatrixResult {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface ScrapeJob {
  job: string;
  targets: string[];
  /** Prometheus's scrape_protocols, e.g. ['PrometheusText0.0.4'] to force the text format. */
  scrapeProtocols?: string[];
}

export interface PrometheusOptions {
  /** Jobs scraped every second (the collector's own metrics, as users' Prometheus scrapes them). */
  scrapeJobs?: ScrapeJob[];
  /** Off: a Prometheus as many run it, without the feature flag compose and k8s/ set. */
  nativeHistograms?: boolean;
  /** The global scrape interval (and timeout); 1000 unless given. */
  scrapeIntervalMs?: number;
}

/** The feature flag docker-compose.yaml and k8s/prometheus set (unit tests check both). */
export const NATIVE_HISTOGRAMS_FLAG = '--enable-feature=native-histograms';

export interface RunningPrometheus {
  url: string;
  /** Where a remote-write client (the collector's exporter) sends. */
  remoteWriteUrl: string;
  /** An instant query; `timeSeconds` defaults to now. */
  query(expr: string, timeSeconds?: number): Promise<QueryResult[]>;
  /** A range selector (`name{...}[10m]`) as raw samples per series. */
  samples(rangeSelector: string, timeSeconds?: number): Promise<MatrixResult[]>;
  /** Replaces the scrape jobs (config reload) and waits until every target has been scraped once. */
  setScrapeJobs(jobs: ScrapeJob[]): Promise<void>;
  /** Everything Prometheus logged, over all its runs. */
  log(): string;
  /** Stops the process and keeps its data and port, as a Prometheus restart does. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  close(): Promise<void>;
}


/** What the comparison helpers read: queries only, so a Thanos Query can stand in. */
export type QueryApi = Pick<RunningPrometheus, 'query' | 'samples'>;

export function requirePrometheus(): string {
  const binary = path.join(PROMETHEUS_BIN_DIR, 'prometheus');
  if (!existsSync(binary)) {
    throw new Error(`Prometheus ${PROMETHEUS_VERSION} is not built at ${binary}: run ${PROMETHEUS_BUILD_SCRIPT} (make test does)`);
  }
  return binary;
}

function configText(jobs: ScrapeJob[], intervalMs = 1000): string {
  const lines = ['global:', `  scrape_interval: ${intervalMs}ms`, `  scrape_timeout: ${intervalMs}ms`, 'scrape_configs:'];
  for (const job of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(job.job)}`, '    static_configs:', `      - targets: ${JSON.stringify(job.targets)}`);
    if (job.scrapeProtocols) lines.push(`    scrape_protocols: ${JSON.stringify(job.scrapeProtocols)}`);
  }
  if (jobs.length === 0) lines.push('  []');
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = requirePrometheus();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, configText(options.scrapeJobs ?? [], options.scrapeIntervalMs));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const spawned = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
        ...(options.nativeHistograms === false ? [] : [NATIVE_HISTOGRAMS_FLAG]),
        // Prometheus logs each rejected remote-write sample batch at this level.
        '--log.level=info',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = spawned;
    spawned.stderr?.setEncoding('utf8').on('data', (text: string) => (log += text));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (spawned.exitCode !== null) throw new Error(`prometheus exited (${spawned.exitCode}): ${log.slice(-4000)}`);
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`prometheus not ready in time: ${log.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    await exited;
  };

  /** One instant query through the HTTP API: its result type and result, or a thrown error. */
  const instant = async (expr: string, timeSeconds: number | undefined): Promise<{ resultType: string; result: unknown }> => {
    const params = new URLSearchParams({ query: expr });
    if (timeSeconds !== undefined) params.set('time', String(timeSeconds));
    const response = await fetch(`${url}/api/v1/query?${params.toString()}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query failed: ${expr}: ${body.error ?? response.status}`);
    return body.data;
  };

  const query = async (expr: string, timeSeconds?: number): Promise<QueryResult[]> => {
    const data = await instant(expr, timeSeconds);
    return data.resultType === 'scalar' ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as QueryResult[]);
  };

  const samples = async (rangeSelector: string, timeSeconds?: number): Promise<MatrixResult[]> => {
    const data = await instant(rangeSelector, timeSeconds);
    if (data.resultType !== 'matrix') throw new Error(`not a range selector: ${rangeSelector} gave a ${data.resultType}`);
    return data.result as MatrixResult[];
  };

  await start();

  return {
    url,
    remoteWriteUrl: `${url}/api/v1/write`,
    query,
    samples,
    async setScrapeJobs(jobs) {
      writeFileSync(config, configText(jobs, options.scrapeIntervalMs));
      child?.kill('SIGHUP');
      const deadline = Date.now() + 20_000;
      for (;;) {
        const results = await query('up').catch(() => []);
        const scraped = new Set(results.map((r) => `${r.metric.job}/${r.metric.instance}`));
        if (jobs.every((job) => job.targets.every((target) => scraped.has(`${job.job}/${target}`)))) return;
        if (Date.now() > deadline) throw new Error(`prometheus did not scrape ${JSON.stringify(jobs)} within 20 s: ${log.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    log: () => log,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
