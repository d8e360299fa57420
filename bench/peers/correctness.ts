/**
 * The correctness row: each contender gets the same three streaming calls as a direct client, and
 * what its client receives is compared with what the direct client received (./compare.ts):
 * a chat stream whose client did not ask for usage (the bench's paced fake, which adds a usage
 * chunk only when asked), a recorded tool-call stream and a recorded Anthropic Messages stream
 * (./corpusProvider.ts).
 */
import http from 'node:http';
import { STREAM_REQUEST } from '../lib/payloads';
import { compareAnswers, withoutSendTimes, type ClientAnswer, type Comparison } from './compare';
import { clientKey, type Call, type Contender, type PathRequest } from './contender';
import type { CorpusProvider, RecordedExchange } from './corpusProvider';

export interface CorrectnessCase {
  id: string;
  title: string;
  call: Call;
  /** Applied to every body before comparing (the paced fake's send times differ per call). */
  normalise?: (body: string) => string;
}

export interface CaseOutcome {
  comparison?: Comparison;
  error?: string;
  /** Body bytes the provider received (corpus cases only: that fake keeps them). */
  upstreamBodyBytes?: number;
  /** Whether those were the bytes the direct client sent the provider. */
  upstreamBodySame?: boolean;
}

export interface CaseResult {
  id: string;
  title: string;
  /** By contender name; direct's is the reference, compared with itself. */
  outcomes: Record<string, CaseOutcome>;
}

const CALL_TIMEOUT_MS = 15_000;
/** The Anthropic SDK's headers; the bench's bearer key rides along for contenders that read that one. */
const ANTHROPIC_HEADERS = { 'x-api-key': clientKey(), 'anthropic-version': '2023-06-01' };

export function correctnessCases(exchanges: { openai: RecordedExchange; anthropic: RecordedExchange }): CorrectnessCase[] {
  return [
    {
      id: 'stream-without-usage',
      title: 'chat stream, client did not ask for usage',
      call: { upstream: 'paced', api: 'chat', body: STREAM_REQUEST, headers: {} },
      normalise: withoutSendTimes,
    },
    {
      id: 'tool-call-stream',
      title: 'chat stream with a tool call (recorded)',
      call: { upstream: 'corpus', api: 'chat', body: JSON.stringify(exchanges.openai.request.body), headers: {} },
    },
    {
      id: 'anthropic-stream',
      title: 'Anthropic Messages stream (recorded)',
      call: { upstream: 'corpus', api: 'messages', body: JSON.stringify(exchanges.anthropic.request.body), headers: ANTHROPIC_HEADERS },
    },
  ];
}

/** One call on a connection of its own; the whole answer. */
export function fetchAnswer(request: PathRequest, timeoutMs = CALL_TIMEOUT_MS): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      request.url,
      { method: 'POST', agent: false, headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) } },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => {
          clearTimeout(limit);
          const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
          resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(parts).toString('utf8') });
        });
        response.on('error', reject);
      },
    );
    const limit = setTimeout(() => outgoing.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    outgoing.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    outgoing.end(request.body);
  });
}

/** Every case through every contender, one call at a time; `contenders[0]` must be direct. */
export async function checkCorrectness(contenders: readonly Contender[], cases: readonly CorrectnessCase[], corpus: CorpusProvider): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of cases) {
    const normalise = testCase.normalise ?? ((body: string) => body);
    const answers = new Map<string, ClientAnswer>();
    const outcomes: Record<string, CaseOutcome> = {};
    let directUpstreamBody: string | undefined;
    for (const contender of contenders) {
      try {
        const answer = await fetchAnswer(contender.request(testCase.call));
        answers.set(contender.name, { ...answer, body: normalise(answer.body) });
        const upstreamBody = testCase.call.upstream === 'corpus' ? (corpus.lastRequest()?.body ?? '') : undefined;
        directUpstreamBody ??= upstreamBody;
        outcomes[contender.name] = upstreamBody === undefined ? {} : { upstreamBodyBytes: Buffer.byteLength(upstreamBody), upstreamBodySame: upstreamBody === directUpstreamBody };
      } catch (error) {
        outcomes[contender.name] = { error: String(error) };
      }
    }
    const reference = answers.get(contenders[0]?.name ?? '');
    for (const [name, answer] of answers) {
      if (reference) (outcomes[name] as CaseOutcome).comparison = compareAnswers(reference, answer);
    }
    results.push({ id: testCase.id, title: testCase.title, outcomes });
  }
  return results;
}
