/**
 * The contract every provider module implements. Generic code (proxy, observer, metrics)
 * only talks to this interface; provider knowledge lives in the modules behind it.
 */

/** Token counts normalised as the GenAI spec wants them; absent means "not reported". */
export interface TokenUsage {
  /** All input tokens, cached ones included. */
  input?: number;
  /** All output tokens, reasoning included. */
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** What the request itself tells us, before anything goes upstream. */
export interface RequestFacts {
  /** `gen_ai.operation.name`, e.g. chat, text_completion, embeddings, generate_content. */
  operation: string;
  requestModel?: string;
  /** The client asked for a streamed answer. */
  streaming: boolean;
}

/** The request as a provider module sees it. */
export interface RequestView {
  method: string;
  /** Path after the route prefix, without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** The JSON body's top-level members, each parsed when read; none when the body is not a JSON object (or was not read). */
  body: JsonMembers;
}

/**
 * A body rewrite the module asks for, e.g. asking an OpenAI-style API to report stream usage.
 * Only top-level members are set (replacing any of the same name); the proxy edits the client's
 * bytes in place, so everything else reaches the provider exactly as the client wrote it.
 */
export interface RequestRewrite {
  setMembers: Readonly<Record<string, unknown>>;
  /** Response stream events that exist only because of the rewrite must be hidden from the client. */
  hideInjectedUsage: boolean;
}

/** Facts gathered from the response; a module fills it as data arrives (last value wins). */
export interface ResponseFacts {
  responseModel?: string;
  usage: TokenUsage;
  /** The body reported an error, even if the HTTP status said success. */
  failed?: boolean;
  /** Provider's own error identifier (error.code / error.type / Google status), when it sent one. */
  errorCode?: string;
}

/** One decoded stream event: an SSE event (`data` is the joined data lines) or one NDJSON line. */
export interface StreamEvent {
  event?: string;
  data: string;
}

/**
 * The top-level members of one JSON document, read one at a time. For request bodies and stream
 * events each member is parsed only when a dialect asks for it: a long conversation in `messages`
 * costs a scan, not a JSON.parse, and a chat chunk's text in `choices` is only ever checked for
 * being non-empty (JSON.parse of every whole event was the largest sidecar-only cost on streams).
 * A document that is not a JSON object has no members.
 */
export interface JsonMembers {
  readonly isObject: boolean;
  /** The member is present, whatever its value. */
  has(name: string): boolean;
  /** The member's value, parsed; undefined when absent or not valid JSON. Of duplicates the last counts, as with JSON.parse. */
  get(name: string): unknown;
  /** The member is an array with at least one element (the elements are not parsed). */
  hasItems(name: string): boolean;
}

/**
 * How the client-visible stream must change for one event (only when usage was injected).
 * `removeMember` cuts that top-level member out of the event's data; every other byte stays.
 */
export type EventRewrite = { action: 'keep' } | { action: 'drop' } | { action: 'removeMember'; name: string };

export interface StreamEventResult {
  /** The event carries model output (text, tool call, reasoning): it counts as an output chunk. */
  content: boolean;
}

/** How the response body of one operation is framed on the wire. */
export type ResponseFraming = 'json' | 'sse' | 'ndjson' | 'eventstream';

/** An error the sidecar itself answers with (the upstream could not be reached or timed out). */
export interface SidecarError {
  status: number;
  /** Stable code, e.g. `upstream_unreachable`, `upstream_timeout`. */
  code: string;
  type: string;
  message: string;
}

export interface ProviderDialect {
  /** Stable id of the wire dialect, e.g. `openai`, `anthropic`. */
  readonly id: string;
  /** Recognise the operation; undefined when this dialect does not know the endpoint. */
  describeRequest(request: RequestView): RequestFacts | undefined;
  /** Optional request body rewrite (only ever to obtain usage the client did not ask for). */
  rewriteRequest?(request: RequestView, facts: RequestFacts): RequestRewrite | undefined;
  /**
   * Read one JSON document of a complete response body (a non-streaming answer, an error): its
   * top-level members, each parsed only when asked for. A body that is an array of documents
   * (Gemini's stream without `alt=sse`) is read one item after the other.
   */
  readBody(json: JsonMembers, facts: ResponseFacts): void;
  /** Read the answer's headers, before its body (providers that report usage or errors there: Bedrock). */
  readHeaders?(headers: Readonly<Record<string, string | string[] | undefined>>, facts: ResponseFacts): void;
  /** Read one stream event; `json` is its data's members (none for `[DONE]` or text that is not an object). */
  readStreamEvent(event: StreamEvent, facts: ResponseFacts, json: JsonMembers): StreamEventResult;
  /** The body of an error the sidecar answers itself, in this API's own error shape, so SDKs parse it. */
  errorBody?(error: SidecarError, path: string): unknown;
  /** Rewrite one event of a stream whose usage the sidecar injected. */
  rewriteInjectedEvent?(event: StreamEvent, json: JsonMembers): EventRewrite;
}

/** A provider as configured on a route: its wire dialect plus the name metrics carry. */
export interface ProviderProfile {
  /** Key users write on the command line, e.g. `openai`, `vllm`. */
  key: string;
  /** `gen_ai.provider.name` value. */
  providerName: string;
  dialect: ProviderDialect;
  /** Public endpoint used when no `--upstream` is given; undefined for self-hosted or per-tenant ones. */
  defaultUrl?: string;
  /** Environment variable SDKs read for their base URL, and the path under the route it should point at. */
  sdkBaseUrl?: { env: string; path: string };
  /**
   * The provider authenticates requests with an AWS SigV4 signature over its own host and path,
   * which a request re-addressed to the sidecar no longer matches: the sidecar signs them again
   * as this service (src/aws/sigv4.ts).
   */
  awsSigning?: { service: string };
}
