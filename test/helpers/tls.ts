/**
 * Self-signed certificates for loopback TLS servers in tests (the webhook, an HTTPS fake
 * provider). openssl is a test prerequisite; its absence fails the suite rather than skipping.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A certificate for 127.0.0.1 and localhost, valid for a day; returns the file paths. */
export function makeCertificate(into: string, name: string): { cert: string; key: string } {
  const cert = path.join(into, `${name}.crt`);
  const key = path.join(into, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=genai-sidecar-${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
    { stdio: 'pipe' },
  );
  return { cert, key };
}
