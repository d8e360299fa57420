/**
 * A route's base path cannot be escaped (issue 22, item 1). The real sidecar sits in front of a
 * real nginx (Debian's, fetched for the bench) that normalises paths the way nginx does:
 * percent-decoding, dot segments, merged slashes. Beside it, a Node server reads the same paths
 * with the WHATWG URL parser (as Node, Deno and Bun frameworks do, backslash read as a slash)
 * and, percent-decoded first, the way servers that decode before they split read them (nginx on
 * Windows, IIS). Each escape vector first proves, sent straight to those upstreams, that a
 * normalising server resolves it outside the route; through the sidecar it must get a 400 that
 * reaches no upstream.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, startChild, waitReady, type Child } from '../../bench/servers/processes';
import { fetchBenchTools, repoRoot } from '../../bench/tools';
import { startHarness, type Harness } from '../helpers/harness';

/** The base path both upstream routes carry, as in `--upstream groq=http://up/openai`. */
const BASE = '/openai';
/** The Host the Node reader resolves against; any other host in a reading is an escape too. */
const READER_HOST = 'upstream.invalid';

interface RawAnswer {
  status: number;
  body: string;
}

/**
 * One request with exactly this request-target: HTTP clients would normalise the vectors away.
 * The socket stays open for writing until the server closes it: the sidecar takes a half-close
 * for a client that left.
 */
function rawGet(port: number, target: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to GET ${target} within 5 s`)));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}

/** How the Node reader saw one request: the WHATWG reading, and the one after percent-decoding. */
interface Readings {
  raw: string;
  whatwg: { host: string; path: string };
  decoded: { host: string; path: string } | null;
}

function readTarget(raw: string): Readings {
  const base = `http://${READER_HOST}`;
  const url = new URL(raw, base);
  const query = raw.indexOf('?');
  let decoded: Readings['decoded'] = null;
  try {
    const then = new URL(decodeURIComponent(query === -1 ? raw : raw.slice(0, query)), base);
    decoded = { host: then.host, path: then.pathname };
  } catch {
    // Not decodable: that server would refuse it.
  }
  return { raw, whatwg: { host: url.host, path: url.pathname }, decoded };
}

interface Reader {
  port: number;
  received: string[];
  close(): Promise<void>;
}

async function startReader(): Promise<Reader> {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    received.push(req.url ?? '');
    const text = JSON.stringify(readTarget(req.url ?? ''));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where a reading lands relative to a route whose base path is `base` ('' for the host's root). */
function outside(reading: { host: string; path: string }, base: string): boolean {
  return reading.host !== READER_HOST || (base !== '' && !reading.path.startsWith(`${base}/`));
}

/** The Node reader's answers that say the request landed outside the route. */
function readerEscapes(body: string, base: string): string[] {
  const readings = JSON.parse(body) as Readings;
  const found: string[] = [];
  if (outside(readings.whatwg, base)) found.push(`whatwg ${readings.whatwg.host}${readings.whatwg.path}`);
  if (readings.decoded && outside(readings.decoded, base)) found.push(`decoded ${readings.decoded.host}${readings.decoded.path}`);
  return found;
}

let dir: string;
let nginx: Child;
let nginxPort: number;
let reader: Reader;
let harness: Harness;
let sidecarPort: number;

function nginxConfig(): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events {
  worker_connections 64;
}
http {
  access_log ${dir}/access.log;
  default_type text/plain;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    location = /readyz {
      access_log off;
      return 200 "ready";
    }
    location ${BASE}/ {
      return 200 "in-route uri=$uri request=$request_uri";
    }
    location / {
      return 200 "OUTSIDE uri=$uri request=$request_uri";
    }
  }
}
`;
}

/** Requests nginx has logged: a refused vector must not add one. */
function nginxRequests(): number {
  try {
    return readFileSync(path.join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  const tools = fetchBenchTools(repoRoot());
  dir = mkdtempSync(path.join(os.tmpdir(), 'route-escape-'));
  nginxPort = await freePort();
  const config = path.join(dir, 'nginx.conf');
  writeFileSync(config, nginxConfig());
  const since = performance.now();
  nginx = startChild('nginx', tools.nginx, ['-p', dir, '-c', config, '-e', path.join(dir, 'nginx-error.log')], path.join(dir, 'nginx.out'));
  await waitReady(nginx, `http://127.0.0.1:${nginxPort}/readyz`, since);
  reader = await startReader();
  harness = await startHarness({
    routes: [],
    flags: {
      upstream: [
        `groq=http://127.0.0.1:${nginxPort}${BASE}`,
        `node:openai=http://127.0.0.1:${reader.port}${BASE}`,
        // No base path: here the escape is to another host, not above a path.
        `bare:openai=http://127.0.0.1:${reader.port}`,
      ],
    },
  });
  sidecarPort = Number(new URL(harness.sidecar.url).port);
}, 300_000);

afterAll(async () => {
  await harness?.close();
  await reader?.close();
  await nginx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `rest` is what follows the route name in the client's request-target. */
const ESCAPES: Array<[string, string]> = [
  ['plain dot-dot', '/../x'],
  ['%2e%2e', '/%2e%2e/x'],
  ['%2E%2e', '/%2E%2e/x'],
  ['.%2e', '/.%2e/x'],
  ['%2e.', '/%2e./x'],
  ['..%2f', '/..%2fx'],
  ['..%5c', '/..%5cx'],
  ['..\\', '/..\\x'],
  ['deeper /v1/../../x', '/v1/../../x'],
  ['encoded slashes around dots', '/v1/a%2f..%2f..%2f..%2fx'],
  ['dot-dot after merged slashes', '/v1//../../x'],
];

describe.each(ESCAPES)('%s (%s)', (_name, rest) => {
  test('is resolved outside the route by a normalising upstream when sent as the sidecar used to forward it', async () => {
    const viaNginx = await rawGet(nginxPort, `${BASE}${rest}`);
    const viaReader = await rawGet(reader.port, `${BASE}${rest}`);
    const escapes = [...(viaNginx.body.startsWith('OUTSIDE') ? [`nginx ${viaNginx.body}`] : []), ...readerEscapes(viaReader.body, BASE)];
    expect(escapes).not.toEqual([]);
  });

  test.each([
    ['groq', 'nginx'],
    ['node', 'the Node reader'],
  ])('through /%s (%s): 400 invalid_path in the OpenAI error shape, nothing reaches the upstream', async (route) => {
    const nginxBefore = nginxRequests();
    const readerBefore = reader.received.length;
    const answer = await rawGet(sidecarPort, `/${route}${rest}`);
    // On a failure this shows what the upstream made of the path.
    expect(`${answer.status} ${answer.body}`).toMatch(/^400 /);
    const body = JSON.parse(answer.body) as { error: { code: string; type: string; message: string; param: null } };
    expect(body.error).toEqual({ code: 'invalid_path', type: 'genai_sidecar_bad_request', message: expect.stringContaining(`"${route}"`), param: null });
    expect(nginxRequests()).toBe(nginxBefore);
    expect(reader.received.length).toBe(readerBefore);
  });
});

describe('a second slash after the route', () => {
  test('sent as the sidecar used to forward it, a WHATWG reader takes //evil.example for a host', async () => {
    const direct = await rawGet(reader.port, '//evil.example/x');
    expect(readerEscapes(direct.body, '')).toEqual(['whatwg evil.example/x', 'decoded evil.example/x']);
  });

  test('is merged: the upstream gets /evil.example/x on its own host', async () => {
    const answer = await rawGet(sidecarPort, '/bare//evil.example/x');
    expect(`${answer.status} ${answer.body}`).toMatch(/^200 /);
    expect(readerEscapes(answer.body, '')).toEqual([]);
    expect(reader.received.at(-1)).toBe('/evil.example/x');
  });

  test('behind a base path nginx sees the merged path in the route', async () => {
    const answer = await rawGet(sidecarPort, '/groq//evil.example/x');
    expect(answer).toEqual({ status: 200, body: `in-route uri=${BASE}/evil.example/x request=${BASE}/evil.example/x` });
  });

  test('a backslash that a WHATWG reader takes for a second slash is refused', async () => {
    const direct = await rawGet(reader.port, '/\\evil.example/x');
    expect(readerEscapes(direct.body, '')).toContain('whatwg evil.example/x');
    const before = reader.received.length;
    const answer = await rawGet(sidecarPort, '/bare/\\evil.example/x');
    expect(`${answer.status} ${answer.body}`).toMatch(/^400 .*invalid_path/);
    expect(reader.received.length).toBe(before);
  });
});

describe('a fragment', () => {
  test.each(['/v1/x#frag', '/v1/x?q=1#frag', '/v1/x#/../../y'])('%s is refused, never forwarded', async (rest) => {
    const nginxBefore = nginxRequests();
    const readerBefore = reader.received.length;
    const viaNginx = await rawGet(sidecarPort, `/groq${rest}`);
    const viaReader = await rawGet(sidecarPort, `/node${rest}`);
    expect(`${viaNginx.status} ${viaNginx.body}`).toMatch(/^400 .*invalid_path/);
    expect(`${viaReader.status} ${viaReader.body}`).toMatch(/^400 .*invalid_path/);
    expect(nginxRequests()).toBe(nginxBefore);
    expect(reader.received.length).toBe(readerBefore);
  });
});

describe('paths that stay in the route', () => {
  test('dot segments inside the route are resolved before forwarding; the query passes byte for byte', async () => {
    const query = '?q=/../../x&e=%2E%2e%2f&b=\\..&&=';
    const answer = await rawGet(sidecarPort, `/groq/v1/a/../b/./c${query}`);
    expect(answer).toEqual({ status: 200, body: `in-route uri=${BASE}/v1/b/c request=${BASE}/v1/b/c${query}` });
    const fromReader = await rawGet(sidecarPort, `/node/v1/a/%2e%2e/b/%2E/c${query}`);
    expect(fromReader.status).toBe(200);
    expect(reader.received.at(-1)).toBe(`${BASE}/v1/b/c${query}`);
  });

  test('an ordinary path, an encoded slash between names and a trailing slash go through unchanged', async () => {
    for (const rest of ['/v1/chat/completions', '/v1/models/meta-llama%2FLlama-3.1-8B', '/v1/models/', '/v1/a.b/..c/.d']) {
      const answer = await rawGet(sidecarPort, `/node${rest}`);
      expect(answer.status).toBe(200);
      expect(reader.received.at(-1)).toBe(`${BASE}${rest}`);
    }
  });

  test('climbing back to the route root itself stays in the route', async () => {
    const answer = await rawGet(sidecarPort, '/groq/v1/..');
    expect(answer).toEqual({ status: 200, body: `in-route uri=${BASE}/ request=${BASE}/` });
  });
});
