/**
 * Durations as users write them in a TieredTable: `30s`, `5m`, `1h`, `7d`, `2w`, and
 * compounds in descending unit order such as `1h30m`. Whole seconds only: both tiers
 * express intervals in seconds (PostgreSQL `interval '3600 seconds'`, ClickHouse
 * `INTERVAL 3600 SECOND`), so a finer unit could not be honoured.
 *
 * Weeks and days are fixed lengths (7×86400 s, 86400 s), not calendar units: a chunk or
 * retention must mean the same span in both engines whatever the time zone.
 */

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNITS_DESCENDING: readonly Unit[] = ['w', 'd', 'h', 'm', 's'];

/**
 * The grammar as a regular expression, shared with the OpenAPI schema (`pattern`), so the
 * CRD, ajv and this parser accept exactly the same strings. ECMA and RE2 (the API
 * server's dialect) read it alike. The lookahead-free form makes the empty string match,
 * so the schema also sets `minLength: 2`; `parseDuration` rejects it on its own.
 */
export const DURATION_PATTERN = '^([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$';

export const DURATION_EXAMPLES = '30s, 5m, 1h, 7d';

const DURATION_RE = new RegExp(DURATION_PATTERN);

export class DurationError extends Error {
  readonly code = 'INVALID_DURATION' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Milliseconds in `s`; throws DurationError naming the input when it is not a duration. */
export function parseDuration(s: string): number {
  if (typeof s !== 'string' || s.length === 0) {
    throw new DurationError(`${JSON.stringify(s)} is not a duration like ${DURATION_EXAMPLES}`);
  }
  const m = DURATION_RE.exec(s);
  if (!m) {
    throw new DurationError(
      `${JSON.stringify(s)} is not a duration like ${DURATION_EXAMPLES} ` +
        '(whole numbers with units w, d, h, m, s, largest first, e.g. 1h30m)',
    );
  }
  let ms = 0;
  UNITS_DESCENDING.forEach((unit, i) => {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part.slice(0, -1)) * UNIT_MS[unit];
  });
  if (!Number.isSafeInteger(ms)) throw new DurationError(`${JSON.stringify(s)} is too long a duration`);
  return ms;
}

/** True when `s` parses; for callers that report their own message. */
export function isDuration(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && DURATION_RE.test(s);
}

/** The shortest compound form: 5_400_000 → `1h30m`, 604_800_000 → `1w`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  const seconds = wholeSeconds(ms, 'formatDuration');
  if (seconds === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNITS_DESCENDING) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}

/** The body of a PostgreSQL interval literal: 3_600_000 → `3600 seconds` (quote it with pgLiteral). */
export function durationToPgInterval(ms: number): string {
  return `${wholeSeconds(ms, 'durationToPgInterval')} seconds`;
}

export interface ClickHouseInterval {
  value: number;
  unit: 'SECOND';
}

/**
 * A ClickHouse `INTERVAL <value> <unit>`: always SECOND, because DAY/WEEK would be the
 * same fixed lengths and one unit keeps generated DDL comparable across versions.
 */
export function durationToClickHouseInterval(ms: number): ClickHouseInterval {
  return { value: wholeSeconds(ms, 'durationToClickHouseInterval'), unit: 'SECOND' };
}

function wholeSeconds(ms: number, fn: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms % 1000 !== 0) {
    throw new RangeError(`${fn}: ${ms} ms is not a non-negative whole number of seconds`);
  }
  return ms / 1000;
}
