/**
 * `/metrics` on the admin port, with the page source replaced: the body streams slice by slice
 * with other work running between slices, HEAD gets headers only, a failed collection is a 500
 * that is reported (the sidecar counts it as telemetry stage `scrape`), and without a page source
 * (push only) the path does not exist.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createAdminServer, type AdminEndpoints } from '../../src/proxy/admin';

async function serve(endpoints: AdminEndpoints): Promise<{ url: string; server: http.Server }> {
  const server = createAdminServer({ ready: () => true }, { maxConnections: 4 }, endpoints);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closeServer = (server: http.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

test('the page streams slice by slice, and timers run between slices', async () => {
  const SLICES = 200;
  let rendered = 0;
  const ticksSeen: number[] = [];
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 0);
  function* slices(): Generator<Buffer> {
    for (let index = 0; index < SLICES; index += 1) {
      rendered += 1;
      ticksSeen.push(ticks);
      // ~0.5 ms of work per slice, like a slice of 200 histogram series.
      const until = performance.now() + 0.5;
      while (performance.now() < until);
      yield Buffer.from(`s${index} 1\n`);
    }
  }
  const released: Buffer[] = [];
  const { url, server } = await serve({ metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', slices: slices(), release: (slice) => released.push(slice) }) });
  try {
    const response = await fetch(`${url}/metrics`);
    const text = await response.text();
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(text.split('\n').filter(Boolean)).toHaveLength(SLICES);
    expect(rendered).toBe(SLICES);
    // Every slice is handed back for reuse once the socket has sent it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(released).toHaveLength(SLICES);
    // The 0 ms interval fired between slices, many times over: the page never held the loop.
    expect(ticksSeen[SLICES - 1]! - ticksSeen[0]!).toBeGreaterThan(SLICES / 2);
  } finally {
    clearInterval(timer);
    await closeServer(server);
  }
});

test('HEAD gets the headers only, and nothing is rendered', async () => {
  let rendered = 0;
  const { url, server } = await serve({
    metrics: async () => ({
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
      slices: (function* () {
        rendered += 1;
        yield Buffer.from('x 1\n');
      })(),
      release: () => undefined,
    }),
  });
  try {
    const response = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('openmetrics');
    expect(await response.text()).toBe('');
    expect(rendered).toBe(0);
  } finally {
    await closeServer(server);
  }
});

test('a collection that fails is a 500, reported once, and the port keeps serving', async () => {
  const errors: unknown[] = [];
  let fail = true;
  const { url, server } = await serve({
    metrics: async (accept) => {
      if (fail) throw new Error('collection failed');
      return { contentType: 'text/plain', slices: [Buffer.from(`ok ${accept === undefined ? 0 : 1}\n`)], release: () => undefined };
    },
    onMetricsError: (error) => errors.push(error),
  });
  try {
    const failed = await fetch(`${url}/metrics`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ status: 'metrics collection failed' });
    expect(errors).toHaveLength(1);
    fail = false;
    expect(await (await fetch(`${url}/metrics`, { headers: { accept: 'text/plain' } })).text()).toBe('ok 1\n');
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
  } finally {
    await closeServer(server);
  }
});

test('a slice that throws midway cuts the answer (no silent truncation) and is reported', async () => {
  const errors: unknown[] = [];
  const { url, server } = await serve({
    metrics: async () => ({
      contentType: 'text/plain',
      slices: (function* () {
        yield Buffer.from('a 1\n');
        throw new Error('render failed');
      })(),
      release: () => undefined,
    }),
    onMetricsError: (error) => errors.push(error),
  });
  try {
    await expect(fetch(`${url}/metrics`).then((response) => response.text())).rejects.toThrow();
    expect(errors).toHaveLength(1);
  } finally {
    await closeServer(server);
  }
});

test('without a page source (push only) /metrics is not found, and the 404 lists what exists', async () => {
  const { url, server } = await serve({});
  try {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ status: 'not found', endpoints: ['/healthz', '/readyz'] });
  } finally {
    await closeServer(server);
  }
});

test('a large page under backpressure streams whole, and waiting for the socket leaves no listeners behind', async () => {
  const slice = Buffer.alloc(64 * 1024, 'x');
  let waitedForDrain = 0;
  let mostListeners = 0;
  const { url, server } = await serve({
    metrics: async () => ({
      contentType: 'text/plain',
      slices: (function* () {
        for (let index = 0; index < 200; index += 1) yield slice;
      })(),
      release: () => undefined,
    }),
  });
  server.on('request', (_req, res: http.ServerResponse) => {
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      const accepted = write(...args);
      if (!accepted) waitedForDrain += 1;
      mostListeners = Math.max(mostListeners, res.listenerCount('close'), res.listenerCount('drain'), res.listenerCount('error'));
      return accepted;
    }) as typeof res.write;
  });
  try {
    const body = Buffer.from(await (await fetch(`${url}/metrics`)).arrayBuffer());
    expect(body.length).toBe(200 * slice.length);
    expect(waitedForDrain).toBeGreaterThan(10);
    // One wait's listeners at a time (a race of two events.once() left one per wait).
    expect(mostListeners).toBeLessThan(5);
  } finally {
    await closeServer(server);
  }
});
