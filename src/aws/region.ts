/**
 * Which AWS region a Bedrock runtime upstream lives in: SigV4 signs the region into every
 * request, and a signature for the wrong one is rejected.
 */

/** bedrock-runtime.<region>.amazonaws.com, its -fips variant, China (.com.cn) and VPC endpoint names. */
const BEDROCK_RUNTIME_HOST = /^(?:[a-z0-9-]+\.)?bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** The region named by the upstream's host, else AWS_REGION, else AWS_DEFAULT_REGION. */
export function regionOf(upstream: URL, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const host = upstream.hostname.toLowerCase().replace(/\.$/, '');
  const named = BEDROCK_RUNTIME_HOST.exec(host)?.[1];
  if (named && REGION.test(named)) return named;
  return nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
