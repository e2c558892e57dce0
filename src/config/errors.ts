/** A configuration problem, naming the offending field (`targets[0].luns[1].size`). */
export class ConfigError extends Error {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(field === '' ? problem : `${field}: ${problem}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}
