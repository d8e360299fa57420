/**
 * User price file (`--prices <file>`): parsing and validation only, no I/O.
 *
 * The file is JSON and extends or overrides the built-in price table (@pydantic/genai-prices):
 *
 * ```json
 * {
 *   "models": [
 *     { "provider": "openai", "model": "gpt-4o-mini", "match": "exact",
 *       "input_per_mtok": 0.15, "output_per_mtok": 0.6,
 *       "cache_read_per_mtok": 0.075, "cache_write_per_mtok": 0.1875 },
 *     { "provider": "ollama", "model": "llama3", "match": "prefix",
 *       "input_per_mtok": 0.02, "output_per_mtok": 0.05 },
 *     { "model": "my-reasoner", "input_per_mtok": 1, "output_per_mtok": 4, "reasoning_per_mtok": 8 }
 *   ]
 * }
 * ```
 *
 * Fields of one entry:
 * - `model` (required): model name as the API reports it. Compared case-insensitively.
 * - `match` (optional, default `"exact"`): `"exact"` = the whole name, `"prefix"` = names starting with `model`.
 * - `provider` (optional): `gen_ai.provider.name` the entry applies to (e.g. `openai`, `azure.ai.openai`,
 *   `gcp.vertex_ai`, `ollama`); absent = any provider. Compared case-insensitively.
 * - `input_per_mtok`, `output_per_mtok` (required): USD per million tokens.
 * - `cache_read_per_mtok`, `cache_write_per_mtok` (optional): USD per million cache-read / cache-write input
 *   tokens; absent = billed at `input_per_mtok`.
 * - `reasoning_per_mtok` (optional): USD per million reasoning tokens; absent = reasoning tokens are billed as
 *   ordinary output tokens (they are part of the output count).
 *
 * All prices must be finite numbers >= 0. Unknown keys (at any level) are errors, so that a typo such as
 * `input_per_mtoks` cannot silently price a model at zero. Two entries with the same provider, model and
 * match are an error too. Every problem is reported as a {@link PriceFileError} whose message is one line
 * naming the file and the offending field, e.g. `prices.json: models[2].input_per_mtok must be a non-negative number`.
 */

export type PriceMatch = 'exact' | 'prefix';

/** One validated entry of the user price file. Prices are USD per million tokens. */
export interface PriceOverride {
  /** `gen_ai.provider.name` the entry is limited to; undefined = any provider. */
  provider?: string;
  model: string;
  match: PriceMatch;
  inputPerMtok: number;
  outputPerMtok: number;
  /** Undefined = billed at `inputPerMtok`. */
  cacheReadPerMtok?: number;
  /** Undefined = billed at `inputPerMtok`. */
  cacheWritePerMtok?: number;
  /** Undefined = reasoning tokens billed at `outputPerMtok` (they are part of the output count). */
  reasoningPerMtok?: number;
  /** Where the entry came from, for diagnostics, e.g. `prices.json models[2]`. */
  origin: string;
}

export type PriceFileErrorCode =
  | 'read_failed'
  | 'empty_file'
  | 'invalid_json'
  | 'invalid_structure'
  | 'unknown_key'
  | 'missing_field'
  | 'invalid_value'
  | 'duplicate_entry';

/** A problem with the user price file. `message` is always a single line: `<file>: <problem>`. */
export class PriceFileError extends Error {
  override readonly name = 'PriceFileError';

  constructor(
    /** Stable, machine-readable reason. */
    readonly code: PriceFileErrorCode,
    /** The file name as the user gave it. */
    readonly file: string,
    detail: string,
  ) {
    super(oneLine(`${file}: ${detail}`));
  }
}

const TOP_LEVEL_KEYS = ['models'] as const;
const PRICE_KEYS = [
  'input_per_mtok',
  'output_per_mtok',
  'cache_read_per_mtok',
  'cache_write_per_mtok',
  'reasoning_per_mtok',
] as const;
const ENTRY_KEYS = ['provider', 'model', 'match', ...PRICE_KEYS] as const;
const REQUIRED_PRICE_KEYS = new Set<string>(['input_per_mtok', 'output_per_mtok']);

/**
 * Parse and validate the text of a user price file.
 * @param sourceName file name used in error messages (usually the path the user gave).
 * @throws PriceFileError on the first problem found.
 */
export function parsePriceFile(text: string, sourceName: string): PriceOverride[] {
  const fail = (code: PriceFileErrorCode, detail: string): never => {
    throw new PriceFileError(code, sourceName, detail);
  };

  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // tolerate a UTF-8 BOM
  if (body.trim() === '') fail('empty_file', 'file is empty; expected a JSON object like {"models": [...]}');

  let root: unknown;
  try {
    root = JSON.parse(body);
  } catch (err) {
    fail('invalid_json', `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }

  if (!isPlainObject(root)) {
    fail('invalid_structure', `top level must be a JSON object like {"models": [...]}, got ${describe(root)}`);
  }
  const top = root as Record<string, unknown>;
  rejectUnknownKeys(top, TOP_LEVEL_KEYS, '', fail);
  if (!('models' in top)) fail('missing_field', '"models" is required (an array of price entries)');
  const models = top['models'];
  if (!Array.isArray(models)) fail('invalid_structure', `models must be an array, got ${describe(models)}`);

  const result: PriceOverride[] = [];
  const seen = new Map<string, number>();
  (models as unknown[]).forEach((raw, index) => {
    const at = `models[${index}]`;
    if (!isPlainObject(raw)) fail('invalid_structure', `${at} must be an object, got ${describe(raw)}`);
    const entry = raw as Record<string, unknown>;
    rejectUnknownKeys(entry, ENTRY_KEYS, at, fail);

    if (!('model' in entry)) fail('missing_field', `${at}.model is required`);
    const model = nameField(entry['model'], `${at}.model`, fail);

    let provider: string | undefined;
    if ('provider' in entry) provider = nameField(entry['provider'], `${at}.provider`, fail);

    let match: PriceMatch = 'exact';
    if ('match' in entry) {
      const m = entry['match'];
      if (m !== 'exact' && m !== 'prefix') {
        fail('invalid_value', `${at}.match must be "exact" or "prefix", got ${describe(m)}`);
      }
      match = m as PriceMatch;
    }

    const prices: Partial<Record<(typeof PRICE_KEYS)[number], number>> = {};
    for (const key of PRICE_KEYS) {
      if (!(key in entry)) {
        if (REQUIRED_PRICE_KEYS.has(key)) fail('missing_field', `${at}.${key} is required (USD per million tokens)`);
        continue;
      }
      const v = entry[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        fail('invalid_value', `${at}.${key} must be a non-negative number (USD per million tokens), got ${describe(v)}`);
      }
      prices[key] = v as number;
    }

    const identity = `${provider?.toLowerCase() ?? ''}\u0000${model.toLowerCase()}\u0000${match}`;
    const previous = seen.get(identity);
    if (previous !== undefined) {
      fail(
        'duplicate_entry',
        `${at} duplicates models[${previous}] (same provider, model and match: ` +
          `${provider === undefined ? 'any provider' : JSON.stringify(provider)}, ${JSON.stringify(model)}, ${match})`,
      );
    }
    seen.set(identity, index);

    const override: PriceOverride = {
      model,
      match,
      inputPerMtok: prices.input_per_mtok as number,
      outputPerMtok: prices.output_per_mtok as number,
      origin: `${sourceName} ${at}`,
    };
    if (provider !== undefined) override.provider = provider;
    if (prices.cache_read_per_mtok !== undefined) override.cacheReadPerMtok = prices.cache_read_per_mtok;
    if (prices.cache_write_per_mtok !== undefined) override.cacheWritePerMtok = prices.cache_write_per_mtok;
    if (prices.reasoning_per_mtok !== undefined) override.reasoningPerMtok = prices.reasoning_per_mtok;
    result.push(override);
  });
  return result;
}

type Fail = (code: PriceFileErrorCode, detail: string) => never;

function rejectUnknownKeys(obj: Record<string, unknown>, allowed: readonly string[], at: string, fail: Fail): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = at === '' ? 'top level' : at;
      fail('unknown_key', `${where}: unknown key ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
    }
  }
}

function nameField(value: unknown, at: string, fail: Fail): string {
  if (typeof value !== 'string' || value.length === 0) {
    return fail('invalid_value', `${at} must be a non-empty string, got ${describe(value)}`);
  }
  if (value.trim() !== value) {
    return fail('invalid_value', `${at} must not have leading or trailing whitespace, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short, single-line description of a JSON value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const json = typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  return `${typeof value} ${shown}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
