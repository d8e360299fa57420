/**
 * A manifest or annotation the injector cannot honour. The CLI prints it and exits 2; the
 * webhook turns it into a warning and admits the pod unchanged (it must never block).
 */
export class InjectError extends Error {
  readonly code = 'ERR_GENAI_SIDECAR_INJECT';
  constructor(message: string) {
    super(message);
    this.name = 'InjectError';
  }
}
