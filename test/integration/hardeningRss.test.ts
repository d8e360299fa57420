/**
 * Memory of the BUILT sidecar (a child process with its default flags) under the hostile clients
 * of issue 22: stalled 8 MiB request bodies, a 2,000-request pipeline and 1,000 silent
 * connections. RSS is printed for the record, not asserted (it depends on the machine); what is
 * asserted is what the defaults promise: a bounded number of held connections and no upstream
 * fan-out.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { startCli, type CliProcess } from '../helpers/cliProcess';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

let cli: CliProcess;
let sidecarPort = 0;
let upstream: http.Server;
let upstreamConnections = 0;

beforeAll(async () => {
  // Reads and discards every body, then answers a small JSON document.
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"x","model":"gpt-4o"}');
    });
  });
  upstream.on('connection', () => (upstreamConnections += 1));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  cli = startCli(['run', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream', `openai=${upstreamUrl}`, '--otlp-endpoint', 'http://127.0.0.1:9']);
  const ready = await cli.waitForJsonLine((line) => line.msg === 'genai-sidecar ready');
  sidecarPort = Number(new URL(String(ready.listen)).port);
  await sleep(1500); // past the warm-up, so its allocations are in the baseline
});

afterAll(async () => {
  cli.kill();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(sidecarPort, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

test('eight clients stall after most of an 8 MiB JSON body', async () => {
  const pid = cli.child.pid ?? 0;
  const before = rssMiB(pid);
  const size = 8 * 1024 * 1024;
  const body = Buffer.alloc(size - 1024, 'a');
  const sockets: net.Socket[] = [];
  for (let i = 0; i < 8; i += 1) {
    const socket = await connect();
    socket.write(`POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(body);
    sockets.push(socket);
  }
  await sleep(1500);
  const stalled = rssMiB(pid);
  for (const socket of sockets) socket.destroy();
  await sleep(500);
  console.log(`8 stalled 8 MiB bodies: RSS ${before} -> ${stalled} MiB while stalled, ${rssMiB(pid)} MiB after the clients left`);
});

test('2,000 pipelined requests on one connection', async () => {
  const pid = cli.child.pid ?? 0;
  const before = rssMiB(pid);
  const connectionsBefore = upstreamConnections;
  const socket = await connect();
  let answers = 0;
  socket.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1').split('HTTP/1.1 200').length - 1));
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.write('GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));
  let peak = before;
  const started = Date.now();
  while (!closed && answers < 2000 && Date.now() - started < 6000) {
    peak = Math.max(peak, rssMiB(pid));
    await sleep(50);
  }
  socket.destroy();
  const opened = upstreamConnections - connectionsBefore;
  console.log(`2,000 pipelined requests: ${answers} answered, ${opened} upstream connection(s) opened, RSS ${before} -> peak ${peak} MiB`);
  expect(opened).toBeLessThanOrEqual(1);
}, 15_000);

test('1,000 silent connections', async () => {
  const pid = cli.child.pid ?? 0;
  const before = rssMiB(pid);
  const sockets: net.Socket[] = [];
  let closedCount = 0;
  for (let i = 0; i < 1000; i += 1) {
    const socket = await connect().catch(() => undefined);
    if (!socket) {
      closedCount += 1;
      continue;
    }
    socket.on('close', () => (closedCount += 1));
    sockets.push(socket);
  }
  await sleep(1000);
  const held = 1000 - closedCount;
  console.log(`1,000 silent connections: ${held} held after 1 s, RSS ${before} -> ${rssMiB(pid)} MiB`);
  for (const socket of sockets) socket.destroy();
  expect(held).toBeLessThanOrEqual(512);
}, 15_000);
