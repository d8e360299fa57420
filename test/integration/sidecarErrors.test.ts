/**
 * When the sidecar itself has to end a call (upstream unreachable), it answers in the route's
 * own API error shape, so the app's SDK raises its usual error with a clear message.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startHarness, type Harness } from '../helpers/harness';

/** Loosely typed view of an error body for shape checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Shaped = any;

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ routes: ['openai', 'anthropic', 'gemini', 'cohere', 'ollama'] });
  // Nothing listens upstream any more: every call must be answered by the sidecar itself.
  await harness.provider.close();
});

afterAll(async () => {
  await harness.sidecar.stop();
  await harness.receiver.close();
});

test.each([
  ['openai', '/openai/v1/chat/completions', (b: Shaped) => b.error.code === 'upstream_unreachable' && b.error.param === null],
  ['anthropic', '/anthropic/v1/messages', (b: Shaped) => b.type === 'error' && b.error.type === 'genai_sidecar_upstream_error'],
  ['gemini', '/gemini/v1beta/models/gemini-2.5-flash:generateContent', (b: Shaped) => b.error.code === 502 && b.error.status === 'UNAVAILABLE'],
  ['cohere', '/cohere/v2/chat', (b: Shaped) => typeof b.message === 'string' && Object.keys(b).length === 1],
  ['ollama native', '/ollama/api/chat', (b: Shaped) => typeof b.error === 'string'],
  ['ollama /v1', '/ollama/v1/chat/completions', (b: Shaped) => b.error.code === 'upstream_unreachable'],
])('%s: 502 in the API own error shape', async (_name, path, isShaped) => {
  const response = await fetch(`${harness.sidecar.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"m","messages":[]}',
  });
  expect(response.status).toBe(502);
  const body = (await response.json()) as unknown;
  expect(isShaped(body)).toBe(true);
  expect(JSON.stringify(body)).toContain('genai-sidecar: upstream for route');
});

test('the OpenAI SDK raises its APIError with the sidecar code', async () => {
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${harness.sidecar.url}/openai/v1`, maxRetries: 0 });
  await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
    status: 502,
    code: 'upstream_unreachable',
  });
});

test('the Anthropic SDK raises its APIError with the sidecar message', async () => {
  const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${harness.sidecar.url}/anthropic`, maxRetries: 0 });
  const failure = client.messages.create({ model: 'claude-sonnet-4-0', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
  await expect(failure).rejects.toMatchObject({ status: 502 });
  await expect(failure).rejects.toThrow(/genai-sidecar: upstream for route .*anthropic.* could not be reached/);
});
