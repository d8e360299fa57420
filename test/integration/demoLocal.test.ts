/**
 * `make demo-local` as a newcomer runs it (node dist/demo/local/main.js, built by make test):
 * it starts, Prometheus has data for each of the three queries it prints and has the alert
 * rules loaded, and Ctrl-C stops every process and removes its files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../bench/servers/processes';
import { cleanEnv, REPO_ROOT } from '../helpers/cliProcess';
import { PROMETHEUS_BIN_DIR } from '../helpers/prometheus';

jest.setTimeout(150_000);

const DEMO = path.join(REPO_ROOT, 'dist/demo/local/main.js');

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(env: Record<string, string>): Demo {
  if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: make test builds it (make demo-local-build)`);
  // A process group of its own, as a terminal gives it: cleanup after a failed test kills the
  // whole group, so no sidecar or Prometheus outlives the test.
  const child = spawn(process.execPath, [DEMO], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

/** Everything the demo started, whatever state the test left it in. */
function killGroup(demo: Demo): void {
  try {
    process.kill(-(demo.child.pid as number), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, context: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s\n${context()}`);
}

async function query(prometheus: string, expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await response.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(JSON.stringify(body));
  return body.data.result;
}

const accepts = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

test('prometheus is built (make test builds it)', () => {
  expect(existsSync(path.join(PROMETHEUS_BIN_DIR, 'prometheus'))).toBe(true);
});

test('started, every printed query returns data within a minute, the rules are loaded, and Ctrl-C stops it all', async () => {
  const port = await freePort();
  const demo = startDemo({ DEMO_PROMETHEUS_LISTEN: `127.0.0.1:${port}`, TRAFFIC_RATE: '4' });
  try {
    await until('no banner', async () => (demo.output().includes('Ctrl-C stops everything') ? true : undefined), 60_000, demo.output);
    const output = demo.output();
    const prometheus = /Prometheus {2}(http:\/\/\S+)/.exec(output)?.[1];
    expect(prometheus).toBe(`http://127.0.0.1:${port}`);
    // Every address it prints is on loopback.
    const urls = [...output.matchAll(/http:\/\/([^/\s:]+):\d+/g)];
    expect(urls.length).toBeGreaterThanOrEqual(5);
    for (const [, host] of urls) expect(host).toBe('127.0.0.1');
    const queries = [...output.matchAll(/^ {4}(?!http)(\S.*)$/gm)].map((match) => match[1] as string);
    expect(queries).toHaveLength(3);

    const started = Date.now();
    const within = (): number => 60_000 - (Date.now() - started);
    // Cost per workload: a series for each of the two workloads, both spending.
    const cost = await until('no cost for both workloads', async () => {
      const series = await query(prometheus as string, queries[0] as string);
      return series.length === 2 && series.every((entry) => Number(entry.value[1]) > 0) ? series : undefined;
    }, within(), demo.output);
    expect(cost.map((entry) => entry.metric.k8s_workload_name).sort()).toEqual(['batch-summarizer', 'chat-frontend']);
    for (const expr of queries.slice(1)) {
      const result = await until(`no data for ${expr}`, async () => {
        const series = await query(prometheus as string, expr);
        return series.length > 0 && series.every((entry) => Number.isFinite(Number(entry.value[1]))) ? series : undefined;
      }, within(), demo.output);
      expect(result.length).toBeGreaterThan(0);
    }

    const rules = (await (await fetch(`${prometheus}/api/v1/rules?type=alert`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const alerts = rules.data.groups.flatMap((group) => group.rules);
    expect(alerts.length).toBeGreaterThan(5);
    // Evaluated every 15 s against the scraped series: none fails to evaluate.
    expect(alerts.filter((rule) => rule.health === 'err')).toEqual([]);
    const dir = /Logs in (\S+)\. Ctrl-C/.exec(output)?.[1] as string;
    expect(existsSync(dir)).toBe(true);
    const sidecars = [...output.matchAll(/sidecar {5}\S+\s+(http:\/\/\S+)/g)].map((match) => match[1] as string);
    expect(sidecars).toHaveLength(2);

    demo.child.kill('SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.output()).toContain('demo: stopped');
    expect(existsSync(dir)).toBe(false);
    for (const url of [prometheus as string, ...sidecars]) expect(await accepts(url)).toBe(false);
  } finally {
    killGroup(demo);
  }
});

test('a Prometheus address off loopback is refused with one clear line, and nothing is started', async () => {
  const demo = startDemo({ DEMO_PROMETHEUS_LISTEN: '0.0.0.0:9090' });
  expect(await demo.exited).toEqual({ code: 1, signal: null });
  expect(demo.output().trim()).toBe('demo: DEMO_PROMETHEUS_LISTEN: "0.0.0.0:9090" must be 127.0.0.1:<port> (the demo binds loopback only)');
});

test('a Prometheus port in use is named, with what to do', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const demo = startDemo({ DEMO_PROMETHEUS_LISTEN: `127.0.0.1:${port}` });
    expect(await demo.exited).toEqual({ code: 1, signal: null });
    expect(demo.output()).toContain(`127.0.0.1:${port} is in use; stop what uses it or set DEMO_PROMETHEUS_LISTEN=127.0.0.1:<port>`);
  } finally {
    server.close();
  }
});
