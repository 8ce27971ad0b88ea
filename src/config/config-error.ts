import { GaterError } from '../errors/index.ts';

/** One reason the configuration was refused: `field` names it as the user wrote it (`GATER_HTTP_PORT`, `--stores`,
 * `config/gater.json: httpPort`). */
export interface ConfigIssue {
  readonly field: string;
  readonly message: string;
}

/**
 * The configuration was refused. Carries every issue found, not just the first, so one attempt shows everything to
 * fix; the message is one line.
 */
export class ConfigError extends GaterError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const first = issues[0] ?? { field: 'configuration', message: 'is invalid' };
    super('invalid_argument', `invalid configuration: ${issues.map(formatIssue).join('; ')}`, {
      field: first.field,
      issues: issues.map((i) => ({ ...i })),
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.field} ${issue.message}`;
}
