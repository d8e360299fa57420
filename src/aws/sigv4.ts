/**
 * Re-signs a forwarded request with AWS Signature Version 4 and the pod's own credentials. The
 * app's SDK signed for the sidecar's host and path, so that signature is dropped and a new one
 * made for the upstream, with AWS's own signer (@smithy/signature-v4), the one the SDKs use.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialCache } from './credentials';

export { regionOf } from './region';

export type HeaderMap = Record<string, string | string[]>;

export interface RequestToSign {
  method: string;
  /** The upstream URL; its pathname is signed exactly as it will be sent (already percent-encoded). */
  url: URL;
  /** The headers to forward, after any other rewriting: a header changed after signing breaks the signature. */
  headers: HeaderMap;
  /** The exact body bytes that will be sent. */
  body: Uint8Array;
}

export interface AwsRequestSigner {
  /** The headers to send upstream: the given ones minus the client's signature and host, plus the new signature. */
  sign(request: RequestToSign): Promise<HeaderMap>;
}

export interface AwsRequestSignerOptions {
  region: string;
  /** The signing name; Bedrock runtime signs as `bedrock`. */
  service?: string;
  credentials: Pick<AwsCredentialCache, 'resolve'>;
  /** Signing time (tests); default the current time. */
  now?: () => Date;
}

/** The client's signature and the host it was made for: replaced, never forwarded (`date` too: x-amz-date supersedes it). */
const REPLACED = new Set(['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'host', 'date']);

/**
 * Headers that intermediaries add, drop or rewrite, so signing them could only break the
 * signature. SignatureV4 already skips these (and proxy-*, sec-*); listing them keeps that
 * promise if the library's built-in list ever shrinks.
 */
const UNSIGNABLE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'user-agent',
  'x-amzn-trace-id',
]);

export function createAwsRequestSigner(options: AwsRequestSignerOptions): AwsRequestSigner {
  const now = options.now ?? (() => new Date());
  const signer = new SignatureV4({
    service: options.service ?? 'bedrock',
    region: options.region,
    credentials: () => options.credentials.resolve(),
    // Node's own SHA-256, as the SDKs use it on Node (a pure-JS one took 40% of a signing's CPU).
    sha256: Hash.bind(null, 'sha256'),
    // Every AWS service but S3 signs the path encoded once more than it travels: the signer
    // percent-encodes the already-encoded path (%3A becomes %253A), as the server does.
    uriEscapePath: true,
    // Sends x-amz-content-sha256 like the SDKs, hashed from the body actually forwarded.
    applyChecksum: true,
  });

  return {
    async sign(request) {
      const headers = forwardedHeaders(request.headers, request.body.byteLength);
      headers.host = request.url.host;
      const signed = await signer.sign(
        {
          method: request.method.toUpperCase(),
          protocol: request.url.protocol,
          hostname: request.url.hostname,
          path: request.url.pathname,
          query: queryOf(request.url),
          headers,
          body: request.body,
        },
        { signingDate: now(), unsignableHeaders: UNSIGNABLE },
      );
      return { ...signed.headers };
    },
  };
}

/**
 * The client's headers without its signature: one entry per name (case-insensitively; repeated
 * values joined as HTTP allows, so what is signed is what is sent), content-length matching the body.
 */
function forwardedHeaders(client: HeaderMap, bodyLength: number): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const nameOf = new Map<string, string>();
  for (const [name, value] of Object.entries(client)) {
    const lower = name.toLowerCase();
    if (REPLACED.has(lower)) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    const existing = nameOf.get(lower);
    if (existing === undefined) {
      nameOf.set(lower, name);
      out[name] = text;
    } else {
      out[existing] = `${out[existing]}, ${text}`;
    }
  }
  const contentLength = nameOf.get('content-length');
  if (contentLength !== undefined) out[contentLength] = String(bodyLength);
  return out;
}

/** Decoded query parameters; the signer encodes them canonically (sorted, RFC 3986). */
function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}
