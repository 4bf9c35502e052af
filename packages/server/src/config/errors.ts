// Configuration errors: one line that names the setting and says what it expects.

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override name = 'ConfigError';
}
