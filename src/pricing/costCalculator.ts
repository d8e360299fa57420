/**
 * Cost in USD of one LLM call.
 *
 * Prices come from, in order:
 * 1. the user price file (`--prices`, see ./priceFile.ts), response model first, then request model;
 * 2. the built-in table of @pydantic/genai-prices, response model first, then request model.
 * So any user entry matching either model wins over the built-in table. Among user entries for one model
 * name, `exact` beats `prefix`, the longest prefix wins, and at equal rank an entry naming the provider beats
 * one without a provider.
 *
 * Self-hosted providers (ollama, vllm) never use the built-in table: their calls cost what the user says, or
 * are unpriced.
 *
 * `costUsd` runs once per LLM call on the hot path: the (provider, models) -> price resolution is memoised in
 * a bounded LRU so that clients sending arbitrary model names cannot grow memory without limit.
 */
import type { Provider, Usage } from '@pydantic/genai-prices';

type GenaiPrices = typeof import('@pydantic/genai-prices');
let loadedPrices: GenaiPrices | undefined;

/**
 * The price table is loaded on first use, not at start-up: it takes ~40 ms to load and the
 * first cost is computed after the first response has already reached the client.
 */
function genaiPrices(): GenaiPrices {
  loadedPrices ??= require('@pydantic/genai-prices') as GenaiPrices;
  return loadedPrices;
}

import type { PriceOverride } from './priceFile';

/**
 * Token counts of one call, OpenTelemetry GenAI normalisation: `input` INCLUDES cache read/write tokens,
 * `output` INCLUDES reasoning tokens. Absent means "not reported", not zero.
 */
export interface CostUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export interface CostQuery {
  /**
   * `gen_ai.provider.name`, e.g. openai, anthropic, azure.ai.openai, gcp.gemini, gcp.vertex_ai, mistral_ai,
   * groq, deepseek, x_ai, cohere, openrouter, ollama, vllm.
   */
  providerName: string;
  requestModel?: string;
  responseModel?: string;
  usage: CostUsage;
}

export interface CostCalculatorOptions {
  /** Maximum number of memoised (provider, models) resolutions, at least 2. Default 1000. */
  maxCacheEntries?: number;
}

/**
 * `gen_ai.provider.name` -> @pydantic/genai-prices provider id. Names not listed here are used as-is when the
 * package has a provider with exactly that id (e.g. `together`, `cerebras`, `fireworks`); otherwise the
 * built-in lookup runs without a provider id (the package then guesses the provider from the model name).
 */
export const GENAI_PRICES_PROVIDER_IDS: Readonly<Record<string, string>> = Object.freeze({
  openai: 'openai',
  anthropic: 'anthropic',
  'azure.ai.openai': 'azure', // azure falls back to openai, anthropic, deepseek, x-ai, moonshotai models
  'azure.ai.inference': 'azure',
  'aws.bedrock': 'aws',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google', // google falls back to anthropic models (Claude on Vertex)
  'gcp.gen_ai': 'google',
  mistral_ai: 'mistral',
  groq: 'groq',
  deepseek: 'deepseek',
  x_ai: 'x-ai',
  cohere: 'cohere',
  perplexity: 'perplexity',
  openrouter: 'openrouter',
  together_ai: 'together',
  cerebras: 'cerebras',
});

/** Providers that run models on the user's own hardware: no built-in price, only user overrides. */
export const SELF_HOSTED_PROVIDERS: ReadonlySet<string> = new Set(['ollama', 'vllm']);

/** Model names longer than this are never priced nor memoised (no legitimate model name is this long). */
export const MAX_MODEL_NAME_LENGTH = 512;

const DEFAULT_MAX_CACHE_ENTRIES = 1000;

type Resolution =
  | { kind: 'override'; override: PriceOverride }
  /** `provider` holds just the one matched model, so the hot path does not scan the whole table again. */
  | { kind: 'builtin'; provider: Provider; model: string; flat?: FlatPrices }
  | { kind: 'none' };

const NONE: Resolution = { kind: 'none' };

export class CostCalculator {
  private readonly exact = new Map<string, PriceOverride[]>();
  /** Prefix entries, longest prefix first (provider-specific first at equal length). */
  private readonly prefixes: { prefix: string; override: PriceOverride }[] = [];
  private readonly memo: BoundedCache<string, Resolution>;

  constructor(overrides: PriceOverride[], options: CostCalculatorOptions = {}) {
    for (const o of overrides) {
      const model = o.model.toLowerCase();
      if (o.match === 'exact') {
        const list = this.exact.get(model) ?? [];
        list.push(o);
        this.exact.set(model, list);
      } else {
        this.prefixes.push({ prefix: model, override: o });
      }
    }
    this.prefixes.sort(
      (a, b) =>
        b.prefix.length - a.prefix.length ||
        Number(b.override.provider !== undefined) - Number(a.override.provider !== undefined),
    );
    this.memo = new BoundedCache(options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES);
  }

  /**
   * Cost of one call in USD, or undefined when no price is known for the model, when usage reports neither
   * input nor output tokens, or when the usage is inconsistent (negative, non-finite, cache tokens exceeding
   * input, reasoning exceeding output). Never throws, never returns NaN.
   */
  costUsd(q: CostQuery): number | undefined {
    try {
      const usage = checkUsage(q.usage);
      if (usage === undefined) return undefined;
      const resolution = this.resolve(q.providerName, q.responseModel, q.requestModel);
      let cost: number | undefined;
      if (resolution.kind === 'override') cost = overrideCost(resolution.override, usage);
      else if (resolution.kind === 'builtin') cost = builtinCost(resolution, usage);
      return cost !== undefined && Number.isFinite(cost) && cost >= 0 ? cost : undefined;
    } catch {
      return undefined;
    }
  }

  /** Number of memoised resolutions (bounded by `maxCacheEntries`). */
  get cacheSize(): number {
    return this.memo.size;
  }

  private resolve(providerName: string, responseModel?: string, requestModel?: string): Resolution {
    const provider = String(providerName ?? '').trim().toLowerCase();
    const models: string[] = [];
    for (const m of [responseModel, requestModel]) {
      if (typeof m !== 'string' || m.length > MAX_MODEL_NAME_LENGTH) continue;
      const name = m.trim();
      if (name !== '' && !models.includes(name)) models.push(name);
    }
    if (models.length === 0) return NONE;

    const key = `${provider}\u0000${models.join('\u0000')}`;
    const cached = this.memo.get(key);
    if (cached !== undefined) return cached;

    const resolution = this.resolveUncached(provider, models);
    this.memo.set(key, resolution);
    return resolution;
  }

  private resolveUncached(provider: string, models: string[]): Resolution {
    for (const model of models) {
      const override = this.findOverride(provider, model.toLowerCase());
      if (override !== undefined) return { kind: 'override', override };
    }
    if (SELF_HOSTED_PROVIDERS.has(provider)) return NONE;
    const providerId = genaiPricesProviderId(provider);
    for (const model of models) {
      const found = findBuiltin(providerId, model);
      if (found !== undefined) return found;
    }
    return NONE;
  }

  private findOverride(provider: string, model: string): PriceOverride | undefined {
    const applies = (o: PriceOverride) => o.provider === undefined || o.provider.toLowerCase() === provider;
    const exact = this.exact.get(model);
    if (exact !== undefined) {
      const specific = exact.find((o) => o.provider !== undefined && applies(o));
      const chosen = specific ?? exact.find((o) => o.provider === undefined);
      if (chosen !== undefined) return chosen;
    }
    for (const { prefix, override } of this.prefixes) {
      if (model.startsWith(prefix) && applies(override)) return override;
    }
    return undefined;
  }
}

/** The @pydantic/genai-prices provider id for a `gen_ai.provider.name`, or undefined when it has none. */
export function genaiPricesProviderId(providerName: string): string | undefined {
  const name = providerName.trim().toLowerCase();
  const mapped = GENAI_PRICES_PROVIDER_IDS[name];
  if (mapped !== undefined) return mapped;
  // Only an exact id: findProvider also does fuzzy `provider_match` (e.g. anything containing "openai"),
  // which would price e.g. a self-hosted "my-openai-proxy" at OpenAI list prices.
  if (name !== '' && genaiPrices().findProvider({ providerId: name })?.id === name) return name;
  return undefined;
}

function findBuiltin(providerId: string | undefined, model: string): Resolution | undefined {
  // An empty usage prices at 0 but tells which provider and model entry the name resolves to.
  const probe = genaiPrices().calcPrice({}, model, providerId === undefined ? {} : { providerId });
  if (probe === null) return undefined;
  const { fallback_model_providers: _ignored, ...provider } = probe.provider;
  return { kind: 'builtin', provider: { ...provider, models: [probe.model] }, model, flat: flatPrices(probe.model.prices) };
}

/** Per-million-token prices of a model whose price is one plain set of numbers (no tiers, no dates). */
interface FlatPrices {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/** Keys the fast path computes itself. */
const FLAT_KEYS = new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok']);
/**
 * Prices on usage the sidecar never passes to calcPrice (audio, image and video tokens, citations,
 * searches, per-message counts, 1-hour cache writes): they add nothing to our calls, so they do not
 * stop the fast path. gpt-4o-mini, the most common model, carries `web_searches_kcount`, for instance. Anything else
 * (tiers, `requests_kcount`, a separate reasoning price, keys we do not know) goes to calcPrice.
 */
const UNUSED_USAGE_KEY = /^(input|output|cache)_[a-z_]*(audio|image|video|citation|tool)[a-z_]*_mtok$|_(searches|messages)_kcount$|^cache_write_1h_mtok$/;

/** The four linear prices when nothing else in `prices` can apply to our usage; else undefined. */
export function flatPrices(prices: unknown): FlatPrices | undefined {
  if (typeof prices !== 'object' || prices === null || Array.isArray(prices)) return undefined;
  const table = prices as Record<string, unknown>;
  for (const [key, value] of Object.entries(table)) {
    if (FLAT_KEYS.has(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    } else if (!UNUSED_USAGE_KEY.test(key)) {
      return undefined;
    }
  }
  const input = table.input_mtok as number | undefined;
  const output = table.output_mtok as number | undefined;
  if (input === undefined || output === undefined) return undefined;
  return { input, output, cacheRead: table.cache_read_mtok as number | undefined, cacheWrite: table.cache_write_mtok as number | undefined };
}

interface CheckedUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

/** Absent counts become 0, but at least input or output must be reported; undefined when unusable. */
function checkUsage(u: CostUsage | undefined): CheckedUsage | undefined {
  if (u === undefined || u === null || (u.input === undefined && u.output === undefined)) return undefined;
  const values = [u.input, u.output, u.cacheRead, u.cacheWrite, u.reasoning];
  for (const v of values) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) return undefined;
  }
  const usage: CheckedUsage = {
    input: u.input ?? 0,
    output: u.output ?? 0,
    cacheRead: u.cacheRead ?? 0,
    cacheWrite: u.cacheWrite ?? 0,
    reasoning: u.reasoning ?? 0,
  };
  if (usage.cacheRead + usage.cacheWrite > usage.input) return undefined;
  if (usage.reasoning > usage.output) return undefined;
  return usage;
}

function overrideCost(o: PriceOverride, u: CheckedUsage): number {
  const uncachedInput = u.input - u.cacheRead - u.cacheWrite;
  let micro =
    uncachedInput * o.inputPerMtok +
    u.cacheRead * (o.cacheReadPerMtok ?? o.inputPerMtok) +
    u.cacheWrite * (o.cacheWritePerMtok ?? o.inputPerMtok);
  if (o.reasoningPerMtok !== undefined) {
    micro += (u.output - u.reasoning) * o.outputPerMtok + u.reasoning * o.reasoningPerMtok;
  } else {
    micro += u.output * o.outputPerMtok;
  }
  return micro / 1e6;
}

function builtinCost(r: { provider: Provider; model: string; flat?: FlatPrices }, u: CheckedUsage): number | undefined {
  // Hot path: a flat price is linear in the token counts; calcPrice re-matches the model by regex each call.
  const flat = r.flat;
  if (flat && (u.cacheRead === 0 || flat.cacheRead !== undefined) && (u.cacheWrite === 0 || flat.cacheWrite !== undefined)) {
    const uncachedInput = u.input - u.cacheRead - u.cacheWrite;
    const micro = uncachedInput * flat.input + u.cacheRead * (flat.cacheRead ?? 0) + u.cacheWrite * (flat.cacheWrite ?? 0) + u.output * flat.output;
    return micro / 1e6;
  }
  const usage: Usage = { input_tokens: u.input, output_tokens: u.output };
  if (u.cacheRead > 0) usage['cache_read_tokens'] = u.cacheRead;
  if (u.cacheWrite > 0) usage['cache_write_tokens'] = u.cacheWrite;
  // Partition of output_tokens: only changes the price of models with a separate reasoning price.
  if (u.reasoning > 0) usage['output_reasoning_tokens'] = u.reasoning;
  const result = genaiPrices().calcPrice(usage, r.model, { provider: r.provider });
  return result === null ? undefined : result.total_price;
}

/**
 * Bounded memo with two generations: entries are written to `young`; when it is full it becomes
 * `old` and the previous `old` is dropped. A hit in `young` costs one Map lookup (no reordering on
 * the hot path, unlike a strict LRU); a hit in `old` is promoted. Holds at most `max` entries.
 */
class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generationSize: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`cache size must be an integer of at least 2, got ${max}`);
    this.generationSize = Math.floor(max / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.set(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.generationSize && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
