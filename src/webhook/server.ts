/**
 * The webhook's HTTPS server: POST /mutate (AdmissionReview v1), GET /healthz and /readyz.
 * The certificate and key are read once at start (the pod restarts when cert-manager renews).
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { HostPort } from '../config/config';
import type { Logger } from '../log/logger';
import type { InjectOptions } from '../inject/options';
import { admitUnchanged, reviewAdmission } from './admission';

/** The API server sends one pod per review; etcd refuses objects over 1.5 MiB anyway. */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;

export interface WebhookConfig {
  listen: HostPort;
  tlsCertFile: string;
  tlsKeyFile: string;
  injection: InjectOptions;
}

/** The certificate or key cannot be used: a configuration problem the user must fix. */
import { WebhookSetupError } from './errors';

export { WebhookSetupError };

export interface RunningWebhook {
  /** e.g. https://127.0.0.1:8443 */
  url: string;
  port: number;
  /** Readiness turns false, the listener closes, in-flight reviews finish. */
  close(): Promise<void>;
}

export function createWebhookApp(options: InjectOptions, logger: Logger, ready: () => boolean): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(ready() ? 200 : 503).json({ status: ready() ? 'ready' : 'not ready' });
  });
  app.post('/mutate', express.raw({ type: () => true, limit: MAX_REVIEW_BYTES }), (req, res) => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
    } catch {
      logger.warn('admission request is not JSON');
      res.json(admitUnchanged('', 'the request body is not JSON; admitted unchanged'));
      return;
    }
    const result = reviewAdmission(body, options);
    const warnings = result.review.response.warnings ?? [];
    const fields = { uid: result.review.response.uid, pod: result.pod, outcome: result.outcome, warnings: warnings.join(' | ') || undefined };
    if (result.outcome === 'failed') logger.warn('admission', fields);
    else logger.info('admission', fields);
    res.json(result.review);
  });
  // Body too large, unreadable stream, a bug: still admit, the webhook must never block.
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent || req.path !== '/mutate') {
      next(error);
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    logger.warn('admission request failed', { reason });
    res.status(200).json(admitUnchanged('', `the request could not be read (${reason}); admitted unchanged`));
  });
  return app;
}

export async function startWebhookServer(config: WebhookConfig, logger: Logger): Promise<RunningWebhook> {
  const cert = readPem(config.tlsCertFile, 'certificate');
  const key = readPem(config.tlsKeyFile, 'key');
  let accepting = true;
  const app = createWebhookApp(config.injection, logger, () => accepting);
  let server: https.Server;
  try {
    server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, app);
  } catch (error) {
    throw new WebhookSetupError(`TLS certificate ${config.tlsCertFile} and key ${config.tlsKeyFile} cannot be used: ${error instanceof Error ? error.message : String(error)}`);
  }
  // The API server gives a webhook at most 30 s (10 s in our configuration); never hold a socket longer.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const stopReloading = reloadCertificateOnChange(server, config, logger);
  return {
    url: `https://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        stopReloading();
        accepting = false;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** How often the mounted certificate files are checked for a renewal. */
const CERT_RELOAD_POLL_MS = 30_000;

/**
 * cert-manager renews the serving certificate in place (the Secret volume updates); nothing
 * restarts the pod, so the new key pair is loaded when the files change. A broken pair is
 * logged and the previous one kept.
 */
function reloadCertificateOnChange(server: https.Server, config: WebhookConfig, logger: Logger, pollMs = CERT_RELOAD_POLL_MS): () => void {
  const reload = (): void => {
    try {
      server.setSecureContext({ cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile), minVersion: 'TLSv1.2' });
      logger.info('TLS certificate reloaded', { cert: config.tlsCertFile });
    } catch (error) {
      logger.warn('TLS certificate changed but could not be loaded; keeping the previous one', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const listener = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs !== previous.mtimeMs) reload();
  };
  watchFile(config.tlsCertFile, { interval: pollMs, persistent: false }, listener);
  watchFile(config.tlsKeyFile, { interval: pollMs, persistent: false }, listener);
  return () => {
    unwatchFile(config.tlsCertFile, listener);
    unwatchFile(config.tlsKeyFile, listener);
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new WebhookSetupError(`cannot read the TLS ${what} ${file} (${code})`);
  }
}

/** `genai-sidecar webhook`: serve until SIGTERM or SIGINT, then close and return. */
export async function serveWebhookUntilSignal(config: WebhookConfig, logger: Logger): Promise<void> {
  const webhook = await startWebhookServer(config, logger);
  logger.info('webhook listening', { url: webhook.url });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(received);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  logger.info('webhook shutting down', { signal });
  await webhook.close();
}
