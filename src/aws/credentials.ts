/**
 * The pod's AWS credentials, fetched off the request path: `warm()` at start-up, then a timer
 * refreshes them ahead of their expiry, so a signature normally reads the cached value and only
 * waits on the credential chain when there is nothing usable. Failures are reported once per
 * distinct cause; credential values never appear in errors, reports or enumerable properties.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { AwsCredentialsError, credentialValuesIn, describeCredentialFailure } from './credentialsError';

export { AwsCredentialsError } from './credentialsError';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/**
 * Where credentials come from. `forceRefresh` asks the default chain to skip its own memo: the
 * SDK's memo hands back the old credentials during its last 5 minutes and refreshes in the
 * background, which would make our scheduled refresh a no-op.
 */
export type AwsCredentialProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface AwsCredentialFailure {
  /** One line without credential values, e.g. for a single log line. */
  readonly message: string;
  /** True while still-valid credentials from an earlier fetch keep signing requests. */
  readonly servingCached: boolean;
}

export interface AwsCredentialCacheOptions {
  /** Default: the AWS SDK's default Node chain (env, web identity, container endpoint, IMDS, …). */
  provider?: AwsCredentialProvider;
  /** Called once per distinct failure (not per call), again only after a success in between. */
  onFailure?: (failure: AwsCredentialFailure) => void;
  /** Refresh this long before expiry, or at half the remaining lifetime if that is shorter. Default 5 min. */
  refreshBeforeMs?: number;
  /** First retry delay after a failed fetch; doubles per failure up to `retryMaxMs`. Default 1 s. */
  retryMinMs?: number;
  /** Default 30 s: how long a pod that gains credentials later (a mounted token) may wait for them. */
  retryMaxMs?: number;
  /** Environment whose credential values are redacted from messages. Default process.env. */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface AwsCredentialCache {
  /** Fetches credentials now; resolves whether it worked (failures also go to onFailure), never rejects. */
  warm(): Promise<boolean>;
  /** The cached credentials if still usable, without any I/O; undefined otherwise. */
  current(): AwsCredentials | undefined;
  /** Credentials for one signature: the cached value when usable, else one shared fetch. Rejects with AwsCredentialsError. */
  resolve(): Promise<AwsCredentials>;
  /** Stops the refresh timer; later calls to resolve() still fetch on demand. */
  close(): void;
}

const FIVE_MINUTES_MS = 5 * 60_000;
/** Credentials this close to expiry are not used: the request could arrive after it. */
const EXPIRY_MARGIN_MS = 1_000;
/** Floor for any timer, so credentials with a tiny lifetime cannot make the refresh loop spin. */
const MIN_TIMER_MS = 250;

export function createAwsCredentialCache(options: AwsCredentialCacheOptions = {}): AwsCredentialCache {
  const provider: AwsCredentialProvider = options.provider ?? fromNodeProviderChain();
  const refreshBeforeMs = options.refreshBeforeMs ?? FIVE_MINUTES_MS;
  const retryMinMs = options.retryMinMs ?? 1_000;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;

  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failures = 0;
  let lastError: AwsCredentialsError | undefined;
  /** Until then, a call finding no credentials fails fast with lastError instead of querying the chain again. */
  let retryAt = 0;
  let reportedFailure: string | undefined;
  /** Values of credentials seen so far, for redaction (the latest and the one before it suffice). */
  let seenValues: string[] = [];

  const usable = (credentials: AwsCredentials, at: number): boolean =>
    credentials.expiration === undefined || credentials.expiration.getTime() - at > EXPIRY_MARGIN_MS;

  function schedule(delayMs: number): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      refresh().catch(() => undefined); // already reported through onFailure
    }, Math.max(MIN_TIMER_MS, delayMs));
    timer.unref();
  }

  function succeeded(fetched: AwsCredentials): AwsCredentials {
    const stored = sealed(fetched);
    cached = stored;
    seenValues = [fetched.accessKeyId, fetched.secretAccessKey, fetched.sessionToken ?? '', ...seenValues].slice(0, 6);
    failures = 0;
    lastError = undefined;
    retryAt = 0;
    reportedFailure = undefined;
    if (stored.expiration) {
      const usableFor = stored.expiration.getTime() - EXPIRY_MARGIN_MS - now();
      schedule(usableFor - Math.min(refreshBeforeMs, usableFor / 2));
    } else if (timer) {
      clearTimeout(timer); // long-term keys (env) never change in-process
      timer = undefined;
    }
    return stored;
  }

  function failed(error: unknown): AwsCredentialsError {
    const at = now();
    failures += 1;
    if (cached && !usable(cached, at)) cached = undefined;
    const detail = describeCredentialFailure(error, [...seenValues, ...credentialValuesIn(env)]);
    lastError = new AwsCredentialsError(detail);
    if (detail !== reportedFailure) {
      reportedFailure = detail;
      try {
        options.onFailure?.({ message: detail, servingCached: cached !== undefined });
      } catch {
        // A failing log callback must not turn into a signing failure.
      }
    }
    let delay = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures - 1, 20));
    // With credentials still valid, retry well before they run out.
    if (cached?.expiration) delay = Math.min(delay, (cached.expiration.getTime() - EXPIRY_MARGIN_MS - at) / 2);
    retryAt = at + delay;
    schedule(delay);
    return lastError;
  }

  async function fetchOnce(): Promise<AwsCredentials> {
    let fetched: AwsCredentials;
    try {
      fetched = await provider({ forceRefresh: true });
      if (!fetched || typeof fetched.accessKeyId !== 'string' || !fetched.accessKeyId || typeof fetched.secretAccessKey !== 'string' || !fetched.secretAccessKey) {
        throw new Error('the credential provider returned an incomplete identity');
      }
      if (!usable(fetched, now())) throw new Error('the credential provider returned credentials that are already expired');
    } catch (error) {
      throw failed(error);
    }
    return succeeded(fetched);
  }

  function refresh(): Promise<AwsCredentials> {
    if (inflight) return inflight;
    const attempt = fetchOnce().finally(() => {
      inflight = undefined;
    });
    inflight = attempt;
    return attempt;
  }

  return {
    warm: () => refresh().then(
      () => true,
      () => false,
    ),
    current() {
      if (cached && usable(cached, now())) return cached;
      return undefined;
    },
    resolve() {
      const at = now();
      if (cached) {
        if (usable(cached, at)) return Promise.resolve(cached);
        cached = undefined;
      }
      if (inflight) return inflight;
      if (lastError && at < retryAt) return Promise.reject(lastError);
      return refresh();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * A copy holding only what signing needs, with the secret parts non-enumerable: an accidental
 * `JSON.stringify` or `console.log` of it shows the key id and expiry, not the keys.
 */
function sealed(credentials: AwsCredentials): AwsCredentials {
  const copy: { accessKeyId: string; expiration?: Date } = { accessKeyId: credentials.accessKeyId };
  if (credentials.expiration) copy.expiration = new Date(credentials.expiration.getTime());
  Object.defineProperty(copy, 'secretAccessKey', { value: credentials.secretAccessKey, enumerable: false });
  if (credentials.sessionToken) Object.defineProperty(copy, 'sessionToken', { value: credentials.sessionToken, enumerable: false });
  return Object.freeze(copy) as AwsCredentials;
}
