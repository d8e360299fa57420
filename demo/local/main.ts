/**
 * `make demo-local`: the whole loop on one machine without Docker, on loopback only. A fake
 * provider (demo/fakeProvider.ts), two sidecars for two workloads, a traffic generator for four
 * tenants and several models (demo/traffic.ts), and the Prometheus that `make test` builds,
 * scraping the sidecars' /metrics with the project's alert rules loaded. Prints where to look and
 * three ready queries; Ctrl-C stops everything and deletes the demo's files.
 *
 * Environment: DEMO_PROMETHEUS_LISTEN (default 127.0.0.1:9090), DEMO_PROMETHEUS_BIN (default the
 * build in .cache), TRAFFIC_RATE (calls per second per workload, default 2).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeProvider, type RunningFakeProvider } from '../fakeProvider';
import { runTraffic } from '../traffic';
import { renderPrometheusConfig } from './prometheusConfig';
import { freePort, logTail, startChild, waitReady, type Child } from '../../bench/servers/processes';
import { assertFree } from './ports';
import { demoQueries, graphLink } from './queries';

const ROOT = path.resolve(__dirname, '../../..');
const SIDECAR = path.join(ROOT, 'dist/src/cli/main.js');
const RULES = path.join(ROOT, 'prometheus/rules/genai-sidecar.rules.yml');

/** Two workloads of one namespace, each with its sidecar; their traffic differs in volume. */
const WORKLOADS = [
  { name: 'chat-frontend', rateShare: 1 },
  { name: 'batch-summarizer', rateShare: 0.5 },
] as const;
const NAMESPACE = 'demo';
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
const STOP_GRACE_MS = 25_000;
const CLUSTER = 'local';

function prometheusBinary(): string {
  const given = process.env.DEMO_PROMETHEUS_BIN;
  if (given) return given;
  const cache = path.join(ROOT, '.cache');
  const builds = existsSync(cache) ? readdirSync(cache).filter((name) => name.startsWith('prometheus-')) : [];
  const found = builds.map((name) => path.join(cache, name, 'bin', 'prometheus')).find((file) => existsSync(file));
  if (!found) throw new Error('no Prometheus build in .cache: run `make prometheus-tools` (make demo-local does) or set DEMO_PROMETHEUS_BIN');
  return found;
}

function listenAddress(): { host: string; port: number } {
  const text = process.env.DEMO_PROMETHEUS_LISTEN ?? '127.0.0.1:9090';
  const match = /^(127\.0\.0\.1|localhost):(\d{1,5})$/.exec(text);
  if (!match) throw new Error(`DEMO_PROMETHEUS_LISTEN: "${text}" must be 127.0.0.1:<port> (the demo binds loopback only)`);
  return { host: '127.0.0.1', port: Number(match[2]) };
}

function trafficRate(): number {
  const text = process.env.TRAFFIC_RATE ?? '2';
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100) throw new Error(`TRAFFIC_RATE: "${text}" must be a number of calls per second from 0 to 100`);
  return rate;
}

async function main(): Promise<void> {
  const prometheusListen = listenAddress();
  const rate = trafficRate();
  const binary = prometheusBinary();
  if (!existsSync(SIDECAR)) throw new Error(`${SIDECAR} is missing: run \`make build\` (make demo-local does)`);
  await assertFree(prometheusListen.host, prometheusListen.port, 'stop what uses it or set DEMO_PROMETHEUS_LISTEN=127.0.0.1:<port>');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-demo-'));
  const processes: Child[] = [];
  const traffic = new AbortController();
  let provider: RunningFakeProvider | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      process.stdout.write(`\ndemo: stopping (${reason})\n`);
      traffic.abort();
      // The sidecars' grace period (20 s) fits in it.
      await Promise.all(processes.map((child) => child.stop(STOP_GRACE_MS)));
      await provider?.close();
      rmSync(dir, { recursive: true, force: true });
      process.stdout.write(`demo: stopped; removed ${dir}\n`);
      process.exit(code);
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop('Ctrl-C', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  const watch = (child: Child): void => {
    processes.push(child);
    void child.exited.then((how) => {
      if (stopping) return;
      process.stderr.write(`demo: ${child.name} exited (${how}); its log:\n${logTail(child, 15)}\n`);
      void stop(`${child.name} exited`, 1);
    });
  };

  try {
    provider = await startFakeProvider('127.0.0.1', 0);
    const sidecars: Array<{ workload: string; url: string; admin: string }> = [];
    for (const workload of WORKLOADS) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const url = `http://127.0.0.1:${port}`;
      const admin = `127.0.0.1:${adminPort}`;
      const child = startChild(
        `sidecar ${workload.name}`,
        process.execPath,
        [
          SIDECAR,
          'run',
          '--listen',
          `127.0.0.1:${port}`,
          '--admin-listen',
          admin,
          '--upstream',
          `openai=${provider.url}`,
          '--upstream',
          `anthropic=${provider.url}`,
          '--header-attribute',
          'x-tenant-id=tenant',
          '--metrics-exporter',
          'prometheus',
          ...Object.entries({ 'k8s.namespace.name': NAMESPACE, 'k8s.workload.name': workload.name, 'k8s.cluster.name': CLUSTER, 'k8s.pod.name': `${workload.name}-0` }).flatMap(([key, value]) => [
            '--resource-attribute',
            `${key}=${value}`,
          ]),
          '--log-level',
          'warn',
        ],
        path.join(dir, `sidecar-${workload.name}.log`),
      );
      watch(child);
      await waitReady(child, `http://${admin}/readyz`, performance.now(), READY_TIMEOUT_MS, READY_POLL_MS);
      sidecars.push({ workload: workload.name, url, admin });
    }

    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(config, renderPrometheusConfig({ sidecarTargets: sidecars.map((sidecar) => sidecar.admin), ruleFiles: [RULES] }));
    const prometheusUrl = `http://${prometheusListen.host}:${prometheusListen.port}`;
    const prometheus = startChild(
      'prometheus',
      binary,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${prometheusListen.host}:${prometheusListen.port}`, '--log.level=warn'],
      path.join(dir, 'prometheus.log'),
    );
    watch(prometheus);
    await waitReady(prometheus, `${prometheusUrl}/-/ready`, performance.now(), READY_TIMEOUT_MS, READY_POLL_MS);

    WORKLOADS.forEach((workload, index) => {
      const sidecar = sidecars[index];
      if (sidecar === undefined) return;
      void runTraffic({
        sidecarUrl: sidecar.url,
        ratePerSecond: rate * workload.rateShare,
        maxInFlight: 8,
        signal: traffic.signal,
        logEveryMs: 30_000,
        log: (line) => process.stdout.write(`${workload.name} ${line}\n`),
      });
    });

    const lines = [
      'genai-sidecar demo, on loopback, without Docker: fake provider -> 2 sidecars -> Prometheus (alert rules loaded)',
      '',
      `  Prometheus  ${prometheusUrl}   alerts: ${prometheusUrl}/alerts`,
      ...sidecars.map((sidecar) => `  sidecar     ${sidecar.workload.padEnd(17)} ${sidecar.url}   metrics: http://${sidecar.admin}/metrics`),
      `  traffic     ${rate} calls/s to ${WORKLOADS[0].name}, ${rate * WORKLOADS[1].rateShare} to ${WORKLOADS[1].name}, 4 tenants, 7 kinds of call`,
      '',
      `Your own code can call the fake provider through a sidecar: OPENAI_BASE_URL=${sidecars[0]?.url}/openai/v1 OPENAI_API_KEY=sk-demo`,
      '',
      'Three queries (data within a minute; open a link, or paste the query into Prometheus):',
      ...demoQueries().flatMap((query) => ['', `  ${query.title}`, `    ${query.expr}`, `    ${graphLink(prometheusUrl, query.expr)}`]),
      '',
      `Logs in ${dir}. Ctrl-C stops everything and removes them.`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop('start-up failed', 1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
