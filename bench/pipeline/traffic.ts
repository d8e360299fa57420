/**
 * Calls through a sidecar for every (model, tenant, operation) combination of a shape: each
 * combination once answered and once refused with a 429, as a busy pod sees over the hours an
 * active series lives. Chat calls stream (all four duration histograms), the others do not.
 */
import http from 'node:http';
import { FAIL_HEADER } from './fakeOpenAi';
import type { SeriesShape } from '../lib/capacityModel';

/** OpenAI models with a price in the built-in table, so every call also records a cost. */
export const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-mini'] as const;

interface Operation {
  /** gen_ai.operation.name as the sidecar records it. */
  name: string;
  path: string;
  body(model: string): unknown;
}

/** In the order shapes add them: chat first, then what RAG apps add (embeddings), then legacy completions. */
export const OPERATIONS: readonly Operation[] = [
  { name: 'chat', path: '/v1/chat/completions', body: (model) => ({ model, messages: [{ role: 'user', content: 'Name a colour.' }], stream: true }) },
  { name: 'embeddings', path: '/v1/embeddings', body: (model) => ({ model, input: 'a short passage to embed' }) },
  { name: 'text_completion', path: '/v1/completions', body: (model) => ({ model, prompt: 'Say ok', max_tokens: 5 }) },
];

/** Route name the sidecar is started with (`--upstream openai=<fake>`). */
export const ROUTE = 'openai';
export const TENANT_HEADER = 'x-tenant-id';
/** The attribute the sidecar maps the tenant header to (`--header-attribute x-tenant-id=tenant`). */
export const TENANT_ATTRIBUTE = 'tenant';
const CONCURRENCY = 8;

export function shapeOperations(shape: SeriesShape): readonly Operation[] {
  if (shape.operations > OPERATIONS.length || shape.models > MODELS.length) throw new Error(`shape ${JSON.stringify(shape)} asks for more than ${MODELS.length} models and ${OPERATIONS.length} operations`);
  return OPERATIONS.slice(0, shape.operations);
}

function post(url: string, agent: http.Agent, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, timeout: 10_000, headers: { ...headers, 'content-type': 'application/json', authorization: 'Bearer sk-capacity-not-a-key', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error(`timed out: ${url}`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends every call of `shape` through the sidecar at `sidecarUrl`; returns how many were made. Throws on an unexpected status. */
export async function driveShape(sidecarUrl: string, shape: SeriesShape): Promise<number> {
  const calls: Array<{ url: string; body: string; headers: Record<string, string>; expect: number }> = [];
  for (const operation of shapeOperations(shape)) {
    for (const model of MODELS.slice(0, shape.models)) {
      for (let tenant = 0; tenant < shape.tenants; tenant += 1) {
        const url = `${sidecarUrl}/${ROUTE}${operation.path}`;
        const body = JSON.stringify(operation.body(model));
        const headers = { [TENANT_HEADER]: `tenant-${tenant}` };
        calls.push({ url, body, headers, expect: 200 }, { url, body, headers: { ...headers, [FAIL_HEADER]: '1' }, expect: 429 });
      }
    }
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls.length) {
        const call = calls[next++] as (typeof calls)[number];
        const status = await post(call.url, agent, call.body, call.headers);
        if (status !== call.expect) throw new Error(`${call.url} answered ${status}, expected ${call.expect}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    agent.destroy();
  }
  return calls.length;
}
