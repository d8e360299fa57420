/**
 * The one place a provider is chosen. A route names a provider key; the key gives the wire
 * dialect, the `gen_ai.provider.name` value and the public endpoint used by default.
 */
import { anthropicDialect } from './anthropic';
import { bedrockDialect } from './bedrock';
import { cohereDialect } from './cohere';
import { geminiDialect } from './gemini';
import { ollamaDialect } from './ollama';
import { createOpenAiDialect } from './openai';
import type { ProviderProfile } from './types';

/** OpenAI proper and the compatible APIs known to accept `stream_options.include_usage`. */
const openAiWithUsage = createOpenAiDialect({ id: 'openai', injectStreamUsage: true });
/** Compatible APIs that report stream usage unasked (Mistral, DeepSeek) or in an extension (Groq). */
const openAiAsIs = createOpenAiDialect({ id: 'openai-compatible', injectStreamUsage: false });

const PROFILES: readonly ProviderProfile[] = [
  {
    key: 'openai',
    providerName: 'openai',
    dialect: openAiWithUsage,
    defaultUrl: 'https://api.openai.com',
    sdkBaseUrl: { env: 'OPENAI_BASE_URL', path: '/v1' },
  },
  {
    key: 'anthropic',
    providerName: 'anthropic',
    dialect: anthropicDialect,
    defaultUrl: 'https://api.anthropic.com',
    sdkBaseUrl: { env: 'ANTHROPIC_BASE_URL', path: '' },
  },
  { key: 'azure', providerName: 'azure.ai.openai', dialect: openAiWithUsage, sdkBaseUrl: { env: 'AZURE_OPENAI_ENDPOINT', path: '' } },
  {
    key: 'gemini',
    providerName: 'gcp.gemini',
    dialect: geminiDialect,
    defaultUrl: 'https://generativelanguage.googleapis.com',
    sdkBaseUrl: { env: 'GOOGLE_GEMINI_BASE_URL', path: '' },
  },
  { key: 'vertex', providerName: 'gcp.vertex_ai', dialect: geminiDialect },
  {
    key: 'mistral',
    providerName: 'mistral_ai',
    dialect: openAiAsIs,
    defaultUrl: 'https://api.mistral.ai',
    sdkBaseUrl: { env: 'MISTRAL_SERVER_URL', path: '' },
  },
  {
    key: 'groq',
    providerName: 'groq',
    dialect: openAiAsIs,
    defaultUrl: 'https://api.groq.com',
    sdkBaseUrl: { env: 'GROQ_BASE_URL', path: '' },
  },
  { key: 'deepseek', providerName: 'deepseek', dialect: openAiAsIs, defaultUrl: 'https://api.deepseek.com' },
  { key: 'xai', providerName: 'x_ai', dialect: openAiWithUsage, defaultUrl: 'https://api.x.ai' },
  {
    key: 'cohere',
    providerName: 'cohere',
    dialect: cohereDialect,
    defaultUrl: 'https://api.cohere.com',
    sdkBaseUrl: { env: 'CO_API_URL', path: '' },
  },
  { key: 'openrouter', providerName: 'openrouter', dialect: openAiWithUsage, defaultUrl: 'https://openrouter.ai' },
  // Regional (https://bedrock-runtime.<region>.amazonaws.com), so never a default route. The AWS SDKs
  // read AWS_ENDPOINT_URL_BEDROCK_RUNTIME as the service's whole endpoint, paths included.
  { key: 'bedrock', providerName: 'aws.bedrock', dialect: bedrockDialect, sdkBaseUrl: { env: 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME', path: '' }, awsSigning: { service: 'bedrock' } },
  { key: 'ollama', providerName: 'ollama', dialect: ollamaDialect, sdkBaseUrl: { env: 'OLLAMA_HOST', path: '' } },
  { key: 'vllm', providerName: 'vllm', dialect: openAiWithUsage },
  { key: 'together', providerName: 'together', dialect: openAiWithUsage },
  { key: 'cerebras', providerName: 'cerebras', dialect: openAiWithUsage },
  { key: 'openai-compatible', providerName: 'openai', dialect: openAiAsIs },
];

const BY_KEY = new Map(PROFILES.map((profile) => [profile.key, profile]));

export function findProvider(key: string): ProviderProfile | undefined {
  return BY_KEY.get(key);
}

export function providerKeys(): string[] {
  return PROFILES.map((profile) => profile.key);
}

/** Providers with a public endpoint: the routes served when no `--upstream` is given. */
export function defaultRoutes(): Array<{ route: string; url: string; provider: ProviderProfile }> {
  return PROFILES.flatMap((profile) =>
    profile.defaultUrl ? [{ route: profile.key, url: profile.defaultUrl, provider: profile }] : [],
  );
}
