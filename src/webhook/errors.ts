/** The webhook cannot start (TLS files unreadable or unusable, address in use): a user-facing one-liner. */
export class WebhookSetupError extends Error {
  readonly code = 'ERR_GENAI_SIDECAR_WEBHOOK_SETUP';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSetupError';
  }
}
