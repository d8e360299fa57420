/**
 * Real providers are HTTPS: the sidecar, as a process, talks TLS to an HTTPS fake provider on
 * 127.0.0.1 with a certificate made for this run. The certificate is trusted the way users trust
 * a private CA (NODE_EXTRA_CA_CERTS); a sidecar without it must refuse the upstream, which shows
 * verification is on. Checks SNI and Host, keep-alive reuse of the TLS connection, and the export.
 */
import * as fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { METRICS, ATTR } from '../../src/telemetry/names';
import { cleanEnv, requireBuiltCli, startCli, type CliProcess } from '../helpers/cliProcess';
import { pointsOf } from '../helpers/harness';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver';
import { makeCertificate } from '../helpers/tls';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-tls',
  object: 'chat.completion',
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'over TLS' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
});

interface Seen {
  host: string | undefined;
  servername: string | false | null;
}

let dir: string;
let cert: string;
let provider: https.Server;
let providerUrl: string;
const seen: Seen[] = [];
let tlsConnections = 0;
let receiver: OtlpReceiver;
const started: CliProcess[] = [];

async function startSidecar(env: NodeJS.ProcessEnv): Promise<string> {
  const cli = startCli(
    ['run', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream', `openai=${providerUrl}`, '--otlp-endpoint', receiver.url, '--export-interval', '200', '--log-format', 'json'],
    env,
  );
  started.push(cli);
  const ready = await cli.waitForJsonLine((line) => line.msg === 'genai-sidecar ready');
  return String(ready.listen);
}

function chat(base: string): Promise<Response> {
  return fetch(`${base}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
  });
}

beforeAll(async () => {
  requireBuiltCli();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genai-tls-upstream-'));
  const files = makeCertificate(dir, 'provider');
  cert = files.cert;
  provider = https.createServer({ cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key), keepAliveTimeout: 30_000 }, (req, res) => {
    seen.push({ host: req.headers.host, servername: (req.socket as TLSSocket).servername });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
      res.end(COMPLETION);
    });
  });
  provider.on('secureConnection', () => (tlsConnections += 1));
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  // "localhost" so SNI is sent (it is never sent for an IP address) and checked against the SAN.
  providerUrl = `https://localhost:${(provider.address() as AddressInfo).port}`;
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  for (const cli of started) cli.kill();
  provider?.closeAllConnections();
  await new Promise((resolve) => provider?.close(resolve));
  await receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('with the CA trusted: answers pass through, SNI and Host name the provider, one TLS connection is reused, the call is exported', async () => {
  const base = await startSidecar(cleanEnv({ NODE_EXTRA_CA_CERTS: cert }));
  const before = tlsConnections;
  for (let i = 0; i < 3; i += 1) {
    const response = await chat(base);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(COMPLETION);
  }
  const host = new URL(providerUrl).host;
  expect(seen.slice(-3)).toEqual([
    { host, servername: 'localhost' },
    { host, servername: 'localhost' },
    { host, servername: 'localhost' },
  ]);
  expect(tlsConnections - before).toBe(1);

  // Cumulative points: the newest one carries all three calls.
  const points = await receiver.waitFor((all) => (pointsOf(all, METRICS.operationDuration.name, { [ATTR.serverAddress]: 'localhost' }).at(-1)?.count ?? 0) >= 3);
  const input = pointsOf(points, METRICS.tokenUsage.name, { [ATTR.serverAddress]: 'localhost', [ATTR.tokenType]: 'input' });
  expect(input.at(-1)?.sum).toBe(21);
});

test('without the CA: the certificate is refused, the client gets a 502 in the OpenAI error shape, nothing reaches the provider', async () => {
  const base = await startSidecar(cleanEnv());
  const requestsBefore = seen.length;
  const response = await chat(base);
  expect(response.status).toBe(502);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('upstream_unreachable');
  expect(body.error.message).toMatch(/localhost/);
  expect(seen.length).toBe(requestsBefore);
});
