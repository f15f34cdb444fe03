import { Readable } from 'node:stream';

/**
 * The deterministic dataset of the query corpus (shared/corpus/README.md), generated,
 * never stored: every minute of 2026-01-01 .. 2026-01-08 × hosts h0..h9 × apps api,
 * web, db. Rows come out as PostgreSQL COPY text lines in DATASET_COLUMNS order.
 * `start` shifts the calendar (the demo uses the last days before now); the values
 * depend only on the minute index, so the corpus's expectations hold at any start.
 */
export const DATASET_COLUMNS = ['time', 'app', 'host', 'labels', 'value', 'trace_id', 'level'] as const;
export const DATASET_START = Date.UTC(2026, 0, 1);
export const APPS = ['api', 'web', 'db'] as const;
export const HOSTS = 10;
const REGIONS = ['eu', 'us', 'ap'];

export interface DatasetRange {
  /** Epoch milliseconds of minute 0; default 2026-01-01T00:00:00Z. */
  start?: number;
  /** First minute (minutes since 2026-01-01T00:00Z), inclusive. */
  fromMinute?: number;
  /** Last minute, exclusive; the full dataset is 7 days = 10080 minutes. */
  toMinute?: number;
}

export const FULL_MINUTES = 7 * 24 * 60;

export function datasetRowCount(r: DatasetRange = {}): number {
  return ((r.toMinute ?? FULL_MINUTES) - (r.fromMinute ?? 0)) * HOSTS * APPS.length;
}

export function datasetLine(m: number, h: number, a: number, start = DATASET_START): string {
  const time = new Date(start + m * 60_000).toISOString();
  const v = (m + h + a) % 97 === 0 ? '\\N' : String(((m * 7 + h * 13 + a * 31) % 1000) / 10);
  const labels = `{"env": "${h % 2 === 0 ? 'prod' : 'staging'}", "region": "${REGIONS[h % 3]}", "source": "${a === 2 ? 'node' : 'app'}"}`;
  let level: string;
  if ((m + h) % 50 === 0) level = 'error';
  else if ((m + a) % 10 === 0) level = 'warn';
  else if ((m * 3 + h) % 101 === 0) level = '\\N';
  else level = 'info';
  const trace = m % 5 === 0 ? '\\N' : (Number((BigInt(m * 31 + h * 7 + a) * 2654435761n) % 4294967296n)).toString(16).padStart(8, '0');
  return `${time}\t${APPS[a]}\th${h}\t${labels}\t${v}\t${trace}\t${level}\n`;
}

/** COPY text stream of the dataset, in chunks of a minute's 30 rows. */
export function datasetStream(r: DatasetRange = {}): Readable {
  const from = r.fromMinute ?? 0;
  const start = r.start ?? DATASET_START;
  const to = r.toMinute ?? FULL_MINUTES;
  let m = from;
  return new Readable({
    read() {
      let chunk = '';
      for (let k = 0; k < 200 && m < to; k++, m++) {
        for (let h = 0; h < HOSTS; h++) for (let a = 0; a < APPS.length; a++) chunk += datasetLine(m, h, a, start);
      }
      this.push(m >= to && chunk === '' ? null : chunk);
    },
  });
}

export const METRICS_EVENTS_COLUMNS_SQL = `time timestamptz NOT NULL, app text, host text, labels jsonb, value double precision, trace_id text, level text`;
