import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { calcPrice, findProvider } from '@pydantic/genai-prices';
import fc from 'fast-check';

import {
  CostCalculator,
  flatPrices,
  GENAI_PRICES_PROVIDER_IDS,
  genaiPricesProviderId,
  type CostQuery,
  type CostUsage,
} from '../../src/pricing/costCalculator';
import { loadPriceOverrides } from '../../src/pricing/loadPrices';
import { parsePriceFile, PriceFileError, type PriceFileErrorCode, type PriceOverride } from '../../src/pricing/priceFile';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'prices', 'prices.json');

/** Dollar amounts are sums of products of small decimals: compare to 1e-12 USD (prices differ by far more). */
function expectUsd(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined();
  expect(Number.isFinite(actual)).toBe(true);
  expect(Math.abs((actual as number) - expected)).toBeLessThan(1e-12);
}

function override(p: Partial<PriceOverride> & Pick<PriceOverride, 'model'>): PriceOverride {
  return { match: 'exact', inputPerMtok: 0, outputPerMtok: 0, origin: 'test', ...p };
}

function priceFile(models: unknown[]): string {
  return JSON.stringify({ models });
}

describe('@pydantic/genai-prices module format', () => {
  it('resolves to the CommonJS build under require()', () => {
    expect(require.resolve('@pydantic/genai-prices')).toMatch(/index\.cjs$/);
  });
});

describe('CostCalculator: built-in prices (real recorded usages)', () => {
  const calc = new CostCalculator([]);

  // Prices per MTok from @pydantic/genai-prices 0.1.8:
  //   openai gpt-4o-mini:          input 0.15, cache_read 0.075, output 0.6
  //   anthropic claude-3-5-sonnet: input 3, cache_write 3.75, cache_read 0.3, output 15
  //   google gemini-2.5-flash:     input 0.3, cache_read 0.03, output 2.5
  const cases: { name: string; query: CostQuery; usd: number }[] = [
    {
      // (1149-1024)*0.15 + 1024*0.075 + 353*0.6 = 18.75 + 76.8 + 211.8 = 307.35 micro-USD
      name: 'openai gpt-4o-mini-2024-07-18, cache read',
      query: {
        providerName: 'openai',
        requestModel: 'gpt-4o-mini',
        responseModel: 'gpt-4o-mini-2024-07-18',
        usage: { input: 1149, cacheRead: 1024, output: 353 },
      },
      usd: 0.00030735,
    },
    {
      // 4*3 + 1163*3.75 + 187*15 = 12 + 4361.25 + 2805 = 7178.25 micro-USD
      name: 'anthropic claude-3-5-sonnet-20240620, cache write',
      query: {
        providerName: 'anthropic',
        requestModel: 'claude-3-5-sonnet-20240620',
        responseModel: 'claude-3-5-sonnet-20240620',
        usage: { input: 4 + 1163, cacheWrite: 1163, cacheRead: 0, output: 187 },
      },
      usd: 0.00717825,
    },
    {
      // 5*0.3 + (877+1058)*2.5 = 1.5 + 4837.5 = 4839 micro-USD (reasoning is billed as output)
      name: 'gcp.gemini gemini-2.5-flash, thinking',
      query: {
        providerName: 'gcp.gemini',
        requestModel: 'gemini-2.5-flash',
        responseModel: 'gemini-2.5-flash',
        usage: { input: 5, output: 877 + 1058, reasoning: 1058 },
      },
      usd: 0.004839,
    },
    {
      name: 'gcp.vertex_ai maps to google too',
      query: { providerName: 'gcp.vertex_ai', requestModel: 'gemini-2.5-flash', usage: { input: 5, output: 1935 } },
      usd: 0.004839,
    },
    {
      name: 'azure.ai.openai: response model priced through the azure table',
      query: {
        providerName: 'azure.ai.openai',
        requestModel: 'my-deployment',
        responseModel: 'gpt-4o-mini-2024-07-18',
        usage: { input: 1149, cacheRead: 1024, output: 353 },
      },
      usd: 0.00030735,
    },
    {
      name: 'request model used when the response model is absent',
      query: { providerName: 'openai', requestModel: 'gpt-4o-mini', usage: { input: 1149, cacheRead: 1024, output: 353 } },
      usd: 0.00030735,
    },
    {
      name: 'request model used when the response model is unknown',
      query: {
        providerName: 'openai',
        requestModel: 'gpt-4o-mini',
        responseModel: 'no-such-model-zz9',
        usage: { input: 1149, cacheRead: 1024, output: 353 },
      },
      usd: 0.00030735,
    },
    {
      name: 'unknown provider name: priced from the model name alone',
      query: { providerName: 'some.gateway', responseModel: 'gpt-4o-mini-2024-07-18', usage: { input: 1000000, output: 0 } },
      usd: 0.15,
    },
    {
      name: 'Bedrock model ID (Claude 3 Sonnet on-demand: $3 per million input tokens)',
      query: { providerName: 'aws.bedrock', requestModel: 'anthropic.claude-3-sonnet-20240229-v1:0', usage: { input: 1000000, output: 0 } },
      usd: 3,
    },
    {
      name: 'Bedrock cross-region inference profile, and one named by its ARN',
      query: { providerName: 'aws.bedrock', requestModel: 'arn:aws:bedrock:us-east-1:012345678901:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0', usage: { input: 1000000, output: 0 } },
      usd: 3,
    },
    {
      name: 'Bedrock Amazon Nova Lite',
      query: { providerName: 'aws.bedrock', requestModel: 'amazon.nova-lite-v1:0', usage: { input: 1000000, output: 0 } },
      usd: 0.06,
    },
    {
      name: 'output only (input not reported)',
      query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { output: 1000000 } },
      usd: 0.6,
    },
  ];

  it.each(cases)('$name', ({ query, usd }) => {
    expectUsd(calc.costUsd(query), usd);
  });

  it('gives the same figure on a memoised second call', () => {
    const q = cases[0]!.query;
    expectUsd(calc.costUsd(q), 0.00030735);
    expectUsd(calc.costUsd(q), 0.00030735);
  });
});

describe('CostCalculator: unpriced calls', () => {
  const calc = new CostCalculator([]);
  const known = { input: 10, output: 10 };

  it.each<{ name: string; query: CostQuery }>([
    { name: 'unknown model', query: { providerName: 'openai', responseModel: 'no-such-model-zz9', usage: known } },
    { name: 'unknown model, request only', query: { providerName: 'anthropic', requestModel: 'zz9-plural', usage: known } },
    { name: 'no model at all', query: { providerName: 'openai', usage: known } },
    { name: 'ollama without override', query: { providerName: 'ollama', responseModel: 'llama3', usage: known } },
    { name: 'vllm without override (even a name the table knows)', query: { providerName: 'vllm', responseModel: 'gpt-4o-mini', usage: known } },
    { name: 'usage with neither input nor output', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { cacheRead: 5 } } },
    { name: 'empty usage', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: {} } },
    { name: 'NaN input', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: NaN, output: 1 } } },
    { name: 'negative output', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: 1, output: -1 } } },
    { name: 'infinite input', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: Infinity } } },
    { name: 'cache read exceeds input', query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: 10, cacheRead: 11, output: 1 } } },
    { name: 'reasoning exceeds output', query: { providerName: 'gcp.gemini', responseModel: 'gemini-2.5-flash', usage: { input: 1, output: 5, reasoning: 6 } } },
    { name: 'absurdly long model name', query: { providerName: 'openai', responseModel: `gpt-4o-mini${'x'.repeat(600)}`, usage: known } },
  ])('$name -> undefined', ({ query }) => {
    expect(calc.costUsd(query)).toBeUndefined();
  });

  it('never throws on malformed input', () => {
    const bad = [
      { providerName: undefined, responseModel: 'gpt-4o-mini', usage: known },
      { providerName: 'openai', responseModel: 42, usage: known },
      { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: null },
      { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: '10', output: 1 } },
      null,
    ] as unknown as CostQuery[];
    for (const q of bad) expect(() => calc.costUsd(q)).not.toThrow();
    expect(calc.costUsd(bad[3]!)).toBeUndefined();
    expect(calc.costUsd(bad[4]!)).toBeUndefined();
  });

  it('an input-only usage is priced (absent output counts as none)', () => {
    expectUsd(calc.costUsd({ providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: 2000000 } }), 0.3);
  });
});

describe('CostCalculator: user overrides', () => {
  const usage: CostUsage = { input: 1000, cacheRead: 200, cacheWrite: 100, output: 500, reasoning: 300 };

  const cases: { name: string; overrides: PriceOverride[]; query: CostQuery; usd: number | undefined }[] = [
    {
      // 700*1 + 200*0.5 + 100*2 + 500*10 = 700 + 100 + 200 + 5000 = 6000 micro-USD
      name: 'override beats built-in (response model)',
      overrides: [override({ provider: 'openai', model: 'gpt-4o-mini-2024-07-18', inputPerMtok: 1, cacheReadPerMtok: 0.5, cacheWritePerMtok: 2, outputPerMtok: 10 })],
      query: { providerName: 'openai', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18', usage },
      usd: 0.006,
    },
    {
      name: 'override on the request model beats built-in on the response model',
      overrides: [override({ model: 'gpt-4o-mini', inputPerMtok: 1, outputPerMtok: 1 })],
      query: { providerName: 'openai', requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18', usage },
      usd: 0.0015,
    },
    {
      name: 'response model override beats request model override',
      overrides: [
        override({ model: 'alias', inputPerMtok: 100, outputPerMtok: 100 }),
        override({ model: 'real-model-v2', inputPerMtok: 1, outputPerMtok: 1 }),
      ],
      query: { providerName: 'openai', requestModel: 'alias', responseModel: 'real-model-v2', usage },
      usd: 0.0015,
    },
    {
      // cache prices absent: cache tokens billed at the input price. 1000*2 + 500*3 = 3500
      name: 'cache read/write fall back to the input price',
      overrides: [override({ model: 'm', inputPerMtok: 2, outputPerMtok: 3 })],
      query: { providerName: 'custom', responseModel: 'm', usage },
      usd: 0.0035,
    },
    {
      // 1000*1 + (500-300)*2 + 300*5 = 1000 + 400 + 1500 = 2900
      name: 'reasoning price bills reasoning apart from the rest of output',
      overrides: [override({ model: 'thinker', inputPerMtok: 1, outputPerMtok: 2, reasoningPerMtok: 5 })],
      query: { providerName: 'custom', responseModel: 'thinker', usage },
      usd: 0.0029,
    },
    {
      // without reasoning price: 1000*1 + 500*2 = 2000
      name: 'without reasoning price, reasoning stays inside output',
      overrides: [override({ model: 'thinker', inputPerMtok: 1, outputPerMtok: 2 })],
      query: { providerName: 'custom', responseModel: 'thinker', usage },
      usd: 0.002,
    },
    {
      name: 'reasoning price with no reasoning reported',
      overrides: [override({ model: 'thinker', inputPerMtok: 1, outputPerMtok: 2, reasoningPerMtok: 5 })],
      query: { providerName: 'custom', responseModel: 'thinker', usage: { input: 1000, output: 500 } },
      usd: 0.002,
    },
    {
      name: 'exact beats prefix (even a longer prefix)',
      overrides: [
        override({ model: 'llama3.1', match: 'prefix', inputPerMtok: 9, outputPerMtok: 9 }),
        override({ model: 'llama3.1:8b', inputPerMtok: 1, outputPerMtok: 1 }),
        override({ model: 'llama3.1:8', match: 'prefix', inputPerMtok: 7, outputPerMtok: 7 }),
      ],
      query: { providerName: 'ollama', responseModel: 'llama3.1:8b', usage: { input: 1000, output: 1000 } },
      usd: 0.002,
    },
    {
      name: 'longest prefix wins',
      overrides: [
        override({ model: 'llama', match: 'prefix', inputPerMtok: 9, outputPerMtok: 9 }),
        override({ model: 'llama3.1', match: 'prefix', inputPerMtok: 1, outputPerMtok: 1 }),
        override({ model: 'llama3', match: 'prefix', inputPerMtok: 5, outputPerMtok: 5 }),
      ],
      query: { providerName: 'ollama', responseModel: 'llama3.1:70b', usage: { input: 1000, output: 1000 } },
      usd: 0.002,
    },
    {
      name: 'exact does not match a longer name',
      overrides: [override({ model: 'llama3', inputPerMtok: 1, outputPerMtok: 1 })],
      query: { providerName: 'ollama', responseModel: 'llama3:8b', usage: { input: 1000, output: 1000 } },
      usd: undefined,
    },
    {
      name: 'model names compare case-insensitively',
      overrides: [override({ model: 'Llama3', match: 'prefix', inputPerMtok: 1, outputPerMtok: 1 })],
      query: { providerName: 'ollama', responseModel: 'LLAMA3:8b', usage: { input: 1000, output: 1000 } },
      usd: 0.002,
    },
    {
      name: 'ollama with override',
      overrides: [override({ provider: 'ollama', model: 'llama3', inputPerMtok: 0.02, outputPerMtok: 0.05 })],
      query: { providerName: 'ollama', requestModel: 'llama3', responseModel: 'llama3', usage: { input: 26, output: 298 } },
      usd: (26 * 0.02 + 298 * 0.05) / 1e6,
    },
    {
      name: 'override for another provider does not apply',
      overrides: [override({ provider: 'vllm', model: 'llama3', inputPerMtok: 1, outputPerMtok: 1 })],
      query: { providerName: 'ollama', responseModel: 'llama3', usage: { input: 1000, output: 1000 } },
      usd: undefined,
    },
    {
      name: 'provider-specific entry beats any-provider entry',
      overrides: [
        override({ model: 'gpt-4o-mini', inputPerMtok: 9, outputPerMtok: 9 }),
        override({ provider: 'azure.ai.openai', model: 'gpt-4o-mini', inputPerMtok: 1, outputPerMtok: 1 }),
      ],
      query: { providerName: 'azure.ai.openai', responseModel: 'gpt-4o-mini', usage: { input: 1000, output: 1000 } },
      usd: 0.002,
    },
    {
      name: 'any-provider entry applies when the specific one is for another provider',
      overrides: [
        override({ model: 'gpt-4o-mini', inputPerMtok: 3, outputPerMtok: 3 }),
        override({ provider: 'azure.ai.openai', model: 'gpt-4o-mini', inputPerMtok: 1, outputPerMtok: 1 }),
      ],
      query: { providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: 1000, output: 1000 } },
      usd: 0.006,
    },
    {
      name: 'zero prices give zero, not undefined',
      overrides: [override({ model: 'free', inputPerMtok: 0, outputPerMtok: 0 })],
      query: { providerName: 'vllm', responseModel: 'free', usage: { input: 1000, output: 1000 } },
      usd: 0,
    },
  ];

  it.each(cases)('$name', ({ overrides, query, usd }) => {
    const cost = new CostCalculator(overrides).costUsd(query);
    if (usd === undefined) expect(cost).toBeUndefined();
    else expectUsd(cost, usd);
  });

  it('works end to end from the fixture file', () => {
    const calc = new CostCalculator(loadPriceOverrides(FIXTURE));
    expectUsd(calc.costUsd({ providerName: 'ollama', responseModel: 'llama3:8b', usage: { input: 1e6, output: 1e6 } }), 0.07);
    // 1e6*1 + (1e6-4e5)*4 + 4e5*8 = 1 + 2.4 + 3.2 USD
    expectUsd(
      calc.costUsd({ providerName: 'openrouter', responseModel: 'my-reasoner', usage: { input: 1e6, output: 1e6, reasoning: 4e5 } }),
      6.6,
    );
  });
});

describe('CostCalculator: memo cache', () => {
  it('stays bounded after 10,000 distinct random model names, and still prices correctly', () => {
    const calc = new CostCalculator([override({ model: 'rnd-', match: 'prefix', inputPerMtok: 1, outputPerMtok: 1 })]);
    for (let i = 0; i < 10_000; i++) {
      const name = `${Math.random().toString(36).slice(2)}-${i}`;
      expect(calc.costUsd({ providerName: 'openai', requestModel: name, responseModel: `${name}-r`, usage: { input: 1, output: 1 } })).toBeUndefined();
    }
    expect(calc.cacheSize).toBeLessThanOrEqual(1000);
    expect(calc.cacheSize).toBeGreaterThan(0);
    expectUsd(calc.costUsd({ providerName: 'openai', responseModel: 'rnd-x', usage: { input: 1e6, output: 0 } }), 1);
    expectUsd(calc.costUsd({ providerName: 'openai', responseModel: 'gpt-4o-mini', usage: { input: 1e6 } }), 0.15);
    expect(calc.cacheSize).toBeLessThanOrEqual(1000);
  });

  it('honours a custom bound', () => {
    const calc = new CostCalculator([], { maxCacheEntries: 3 });
    for (let i = 0; i < 50; i++) calc.costUsd({ providerName: 'openai', responseModel: `m${i}`, usage: { input: 1 } });
    expect(calc.cacheSize).toBeGreaterThan(0);
    expect(calc.cacheSize).toBeLessThanOrEqual(3);
  });

  it('rejects a bound too small to hold two generations', () => {
    expect(() => new CostCalculator([], { maxCacheEntries: 1 })).toThrow(RangeError);
  });
});

describe('provider id mapping', () => {
  it.each(Object.entries(GENAI_PRICES_PROVIDER_IDS))('%s -> %s exists in @pydantic/genai-prices', (name, id) => {
    expect(findProvider({ providerId: id })?.id).toBe(id);
    expect(genaiPricesProviderId(name)).toBe(id);
  });

  it.each([
    ['gcp.gemini', 'google'],
    ['gcp.vertex_ai', 'google'],
    ['azure.ai.openai', 'azure'],
    ['mistral_ai', 'mistral'],
    ['x_ai', 'x-ai'],
    ['together', 'together'], // package id used as-is
    ['cerebras', 'cerebras'],
  ])('%s -> %s', (name, id) => {
    expect(genaiPricesProviderId(name)).toBe(id);
  });

  it.each(['ibm.watsonx.ai', 'my-openai-proxy', 'ollama', ''])('%s has no provider id (no fuzzy match)', (name) => {
    expect(genaiPricesProviderId(name)).toBeUndefined();
  });
});

describe('parsePriceFile', () => {
  const entry = { model: 'm', input_per_mtok: 1, output_per_mtok: 2 };

  it('parses all fields, with defaults', () => {
    const parsed = parsePriceFile(
      priceFile([
        { provider: 'openai', model: 'gpt-4o-mini', match: 'prefix', input_per_mtok: 0.15, output_per_mtok: 0.6, cache_read_per_mtok: 0.075, cache_write_per_mtok: 0.1875, reasoning_per_mtok: 1 },
        entry,
      ]),
      'prices.json',
    );
    expect(parsed).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', match: 'prefix', inputPerMtok: 0.15, outputPerMtok: 0.6, cacheReadPerMtok: 0.075, cacheWritePerMtok: 0.1875, reasoningPerMtok: 1, origin: 'prices.json models[0]' },
      { model: 'm', match: 'exact', inputPerMtok: 1, outputPerMtok: 2, origin: 'prices.json models[1]' },
    ]);
  });

  it('accepts an empty list and a UTF-8 BOM', () => {
    expect(parsePriceFile('\uFEFF{"models": []}', 'prices.json')).toEqual([]);
  });

  const errorCases: { name: string; text: string; code: PriceFileErrorCode; message: string }[] = [
    { name: 'empty file', text: '  \n', code: 'empty_file', message: 'prices.json: file is empty; expected a JSON object like {"models": [...]}' },
    { name: 'invalid JSON', text: '{"models": [\n  {"model": "m",}\n]}', code: 'invalid_json', message: 'prices.json: invalid JSON: ' },
    { name: 'top level not an object', text: '[]', code: 'invalid_structure', message: 'prices.json: top level must be a JSON object like {"models": [...]}, got an array' },
    { name: 'unknown top-level key', text: '{"models": [], "model": []}', code: 'unknown_key', message: 'prices.json: top level: unknown key "model" (allowed: models)' },
    { name: 'models missing', text: '{}', code: 'missing_field', message: 'prices.json: "models" is required (an array of price entries)' },
    { name: 'models not an array', text: '{"models": {}}', code: 'invalid_structure', message: 'prices.json: models must be an array, got an object' },
    { name: 'entry not an object', text: priceFile([entry, 'gpt-4o']), code: 'invalid_structure', message: 'prices.json: models[1] must be an object, got string "gpt-4o"' },
    {
      name: 'unknown key (typo)',
      text: priceFile([entry, { ...entry, model: 'n' }, { model: 'x', input_per_mtoks: 1, output_per_mtok: 1 }]),
      code: 'unknown_key',
      message: 'prices.json: models[2]: unknown key "input_per_mtoks" (allowed: provider, model, match, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, reasoning_per_mtok)',
    },
    { name: 'model missing', text: priceFile([{ input_per_mtok: 1, output_per_mtok: 1 }]), code: 'missing_field', message: 'prices.json: models[0].model is required' },
    { name: 'model empty', text: priceFile([{ ...entry, model: '' }]), code: 'invalid_value', message: 'prices.json: models[0].model must be a non-empty string, got string ""' },
    { name: 'model not a string', text: priceFile([{ ...entry, model: 4 }]), code: 'invalid_value', message: 'prices.json: models[0].model must be a non-empty string, got number 4' },
    { name: 'model padded', text: priceFile([{ ...entry, model: 'gpt-4o ' }]), code: 'invalid_value', message: 'prices.json: models[0].model must not have leading or trailing whitespace, got "gpt-4o "' },
    { name: 'provider null', text: priceFile([{ ...entry, provider: null }]), code: 'invalid_value', message: 'prices.json: models[0].provider must be a non-empty string, got null' },
    { name: 'bad match', text: priceFile([{ ...entry, match: 'regex' }]), code: 'invalid_value', message: 'prices.json: models[0].match must be "exact" or "prefix", got string "regex"' },
    { name: 'input price missing', text: priceFile([{ model: 'm', output_per_mtok: 1 }]), code: 'missing_field', message: 'prices.json: models[0].input_per_mtok is required (USD per million tokens)' },
    { name: 'output price missing', text: priceFile([{ model: 'm', input_per_mtok: 1 }]), code: 'missing_field', message: 'prices.json: models[0].output_per_mtok is required (USD per million tokens)' },
    {
      name: 'negative price',
      text: priceFile([entry, { ...entry, model: 'n' }, { ...entry, model: 'z', input_per_mtok: -0.5 }]),
      code: 'invalid_value',
      message: 'prices.json: models[2].input_per_mtok must be a non-negative number (USD per million tokens), got number -0.5',
    },
    { name: 'price as string', text: priceFile([{ ...entry, output_per_mtok: '0.6' }]), code: 'invalid_value', message: 'prices.json: models[0].output_per_mtok must be a non-negative number (USD per million tokens), got string "0.6"' },
    { name: 'infinite price', text: '{"models": [{"model": "m", "input_per_mtok": 1, "output_per_mtok": 1, "cache_read_per_mtok": 1e999}]}', code: 'invalid_value', message: 'prices.json: models[0].cache_read_per_mtok must be a non-negative number (USD per million tokens), got number Infinity' },
    { name: 'null price', text: priceFile([{ ...entry, cache_write_per_mtok: null }]), code: 'invalid_value', message: 'prices.json: models[0].cache_write_per_mtok must be a non-negative number (USD per million tokens), got null' },
    { name: 'reasoning price object', text: priceFile([{ ...entry, reasoning_per_mtok: {} }]), code: 'invalid_value', message: 'prices.json: models[0].reasoning_per_mtok must be a non-negative number (USD per million tokens), got an object' },
    {
      name: 'duplicate entry',
      text: priceFile([{ ...entry, provider: 'openai' }, { ...entry, model: 'other' }, { ...entry, model: 'M', provider: 'OpenAI', input_per_mtok: 5 }]),
      code: 'duplicate_entry',
      message: 'prices.json: models[2] duplicates models[0] (same provider, model and match: "OpenAI", "M", exact)',
    },
  ];

  it.each(errorCases)('$name', ({ text, code, message }) => {
    let caught: unknown;
    try {
      parsePriceFile(text, 'prices.json');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PriceFileError);
    const err = caught as PriceFileError;
    expect(err.code).toBe(code);
    expect(err.file).toBe('prices.json');
    expect(err.message).not.toMatch(/[\r\n]/);
    if (message.endsWith(': ')) expect(err.message.startsWith(message)).toBe(true);
    else expect(err.message).toBe(message);
  });

  it('the same model for different providers or match kinds is not a duplicate', () => {
    const parsed = parsePriceFile(
      priceFile([entry, { ...entry, provider: 'openai' }, { ...entry, provider: 'vllm' }, { ...entry, match: 'prefix' }]),
      'p.json',
    );
    expect(parsed).toHaveLength(4);
  });
});

describe('loadPriceOverrides', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pricing-test-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('no path -> no overrides', () => {
    expect(loadPriceOverrides(undefined)).toEqual([]);
  });

  it('reads the fixture', () => {
    const loaded = loadPriceOverrides(FIXTURE);
    expect(loaded.map((o) => [o.provider, o.model, o.match])).toEqual([
      ['openai', 'gpt-4o-mini', 'prefix'],
      ['ollama', 'llama3', 'prefix'],
      [undefined, 'my-reasoner', 'exact'],
    ]);
    expect(loaded[0]!.origin).toBe(`${FIXTURE} models[0]`);
  });

  it.each<{ name: string; make: () => string; message: (p: string) => string; code: PriceFileErrorCode }>([
    { name: 'missing file', make: () => path.join(dir, 'nope.json'), message: (p) => `${p}: cannot read price file: no such file`, code: 'read_failed' },
    { name: 'directory', make: () => dir, message: (p) => `${p}: cannot read price file: it is a directory, not a file`, code: 'read_failed' },
    {
      name: 'invalid content',
      make: () => {
        const p = path.join(dir, 'bad.json');
        fs.writeFileSync(p, '{"models": [{"model": "m", "input_per_mtok": -1, "output_per_mtok": 1}]}');
        return p;
      },
      message: (p) => `${p}: models[0].input_per_mtok must be a non-negative number (USD per million tokens), got number -1`,
      code: 'invalid_value',
    },
  ])('$name -> one-line PriceFileError naming the file', ({ make, message, code }) => {
    const p = make();
    let caught: unknown;
    try {
      loadPriceOverrides(p);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PriceFileError);
    expect((caught as PriceFileError).code).toBe(code);
    expect((caught as PriceFileError).message).toBe(message(p));
  });
});

describe('flat-price fast path agrees with the package', () => {
  // The calculator computes flat prices itself (calcPrice re-matches the model by regex on every
  // call, which showed up in the profile); it must give exactly what the package gives.
  const cases: Array<[string, string, string]> = [
    ['openai', 'openai', 'gpt-4o-mini-2024-07-18'],
    ['openai', 'openai', 'gpt-4o'],
    ['anthropic', 'anthropic', 'claude-3-5-sonnet-20240620'],
    ['anthropic', 'anthropic', 'claude-sonnet-4-20250514'],
    ['openai', 'openai', 'gpt-4o-audio-preview'],
    ['gcp.gemini', 'google', 'gemini-2.5-flash'],
    ['mistral_ai', 'mistral', 'mistral-large-latest'],
    ['deepseek', 'deepseek', 'deepseek-chat'],
  ];
  test.each(cases)('%s %s %s', (providerName, providerId, model) => {
    const calculator = new CostCalculator([]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 50_000 }),
        (input, readShare, writeShare, output) => {
          const cacheRead = Math.floor((input * readShare) / 200);
          const cacheWrite = Math.floor((input * writeShare) / 200);
          const ours = calculator.costUsd({ providerName, responseModel: model, usage: { input, output, cacheRead, cacheWrite } });
          const usage: Record<string, number> = { input_tokens: input, output_tokens: output };
          if (cacheRead > 0) usage.cache_read_tokens = cacheRead;
          if (cacheWrite > 0) usage.cache_write_tokens = cacheWrite;
          const theirs = calcPrice(usage, model, { providerId });
          expect(theirs).not.toBeNull();
          expect(ours).toBeCloseTo(theirs?.total_price ?? NaN, 10);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('which price tables take the fast path', () => {
  const pricesOf = (model: string, providerId: string): unknown => calcPrice({}, model, { providerId })?.model.prices;

  test.each([
    // web_searches_kcount / storage_searches_kcount price searches the sidecar never reports.
    ['gpt-4o-mini', 'openai'],
    ['gpt-4o', 'openai'],
    // cache_write_1h_mtok, web_searches_kcount
    ['claude-sonnet-4-20250514', 'anthropic'],
    // input_audio_mtok, cache_audio_read_mtok
    ['gemini-2.5-flash', 'google'],
  ])('%s (%s) is flat', (model, providerId) => {
    const prices = pricesOf(model, providerId) as Record<string, number>;
    expect(flatPrices(prices)).toEqual({ input: prices.input_mtok, output: prices.output_mtok, cacheRead: prices.cache_read_mtok, cacheWrite: prices.cache_write_mtok });
  });

  test('tiered and dated tables go to calcPrice', () => {
    expect(flatPrices(pricesOf('gemini-2.5-pro', 'google'))).toBeUndefined();
    expect(flatPrices(pricesOf('o3', 'openai'))).toBeUndefined();
  });

  test.each([
    ['a per-request price', { input_mtok: 1, output_mtok: 2, requests_kcount: 1 }],
    ['a separate reasoning price', { input_mtok: 1, output_mtok: 2, output_reasoning_mtok: 3 }],
    ['an unknown key', { input_mtok: 1, output_mtok: 2, input_text_mtok: 1 }],
    ['a tiered input price', { input_mtok: { base: 1, tiers: [] }, output_mtok: 2 }],
    ['no output price', { input_mtok: 1 }],
  ])('%s goes to calcPrice', (_what, prices) => {
    expect(flatPrices(prices)).toBeUndefined();
  });
});
