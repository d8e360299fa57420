/**
 * The one error signing throws when there are no usable AWS credentials, and the redaction that
 * keeps credential values out of it: provider errors can quote tokens, URLs or file contents,
 * and these messages end up in logs and in answers to clients.
 */
import { redactUrl } from '../log/redact';

const MAX_DETAIL_LENGTH = 300;
/** Access key ids (long-term AKIA…, temporary ASIA…) are not secret but are still credential values. */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g;
/** Secret keys are 40 base64 characters, session tokens and JWTs far longer. */
const LONG_TOKEN = /[A-Za-z0-9+/=_-]{40,}/g;

export class AwsCredentialsError extends Error {
  override readonly name = 'AwsCredentialsError';

  /** `detail` is already redacted: the last failure of the credential chain, in one line. */
  constructor(readonly detail: string) {
    super(`no AWS credentials were found in the credential chain (environment, web identity token file, container credentials endpoint, instance metadata): ${detail}`);
  }
}

/**
 * One line saying why the chain failed, with every known credential value and anything shaped
 * like a key or token replaced. `known` holds values the caller has seen (earlier credentials,
 * tokens from the environment); empty strings are ignored.
 */
export function describeCredentialFailure(error: unknown, known: readonly (string | undefined)[]): string {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  let text = `${name}: ${message}`.replace(/\s+/g, ' ').trim();
  // Longest first: a key id inside a longer value must not break that value's match.
  for (const value of [...known].sort((a, b) => (b?.length ?? 0) - (a?.length ?? 0))) {
    // Short values would blank out ordinary words; real credential values are long.
    if (value && value.length >= 8) text = text.split(value).join('[redacted]');
  }
  text = redactUrl(text.replace(ACCESS_KEY_ID, '[redacted]').replace(LONG_TOKEN, '[redacted]'));
  return text.length > MAX_DETAIL_LENGTH ? `${text.slice(0, MAX_DETAIL_LENGTH)}…` : text;
}

/** Credential values the environment holds: redacted from any message that might quote them. */
export function credentialValuesIn(env: NodeJS.ProcessEnv): string[] {
  return [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, env.AWS_CONTAINER_AUTHORIZATION_TOKEN].filter(
    (value): value is string => typeof value === 'string' && value.length > 0,
  );
}
