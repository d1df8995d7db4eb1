/**
 * An error in a file a person wrote (a YAML config, a recipe, a dataset row): it names the
 * file and lists each problem with its key path, the bad value and the expected form.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: string[],
  ) {
    super(`${file}: ${issues.length === 1 ? issues[0] : `\n  - ${issues.join('\n  - ')}`}`);
    this.name = 'ConfigError';
  }
}
