/** A configuration problem the user must fix; its message is one line that says what and where. */
export class ConfigError extends Error {
  readonly code = 'ERR_GENAI_SIDECAR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
