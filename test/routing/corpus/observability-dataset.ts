import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { DATASET_START, FULL_MINUTES, parseTieredTableDocuments, validateResource, type TieredTableSpec } from '@strata/core';
import { repoPath } from '../../support/paths';

/**
 * observability_events as the examples ship it (examples/tieredtables.yaml), with a cold
 * retention long enough that ClickHouse's TTL keeps the 2026-01 dataset whatever today is.
 */
export function observabilitySpec(): TieredTableSpec {
  const docs = parseTieredTableDocuments(readFileSync(repoPath('examples', 'tieredtables.yaml'), 'utf8'));
  const doc = docs.find((d) => d.metadata.name === 'observability-events');
  if (!doc) throw new Error('examples/tieredtables.yaml has no observability-events');
  return validateResource({ ...doc, spec: { ...doc.spec, cold: { ...doc.spec.cold, retention: '3650d' } } });
}

export const OBSERVABILITY_COLUMNS = ['event_time', 'node', 'source_type', 'message', 'raw'] as const;
export const OBSERVABILITY_COLUMNS_SQL = 'event_time timestamptz NOT NULL, node text, source_type text, message text, raw jsonb';
export const NODES = ['node-0', 'node-1', 'node-2', 'node-3'] as const;
const UNITS = ['sshd.service', 'kubelet.service', 'containerd.service'];
const METRICS = ['node_load1', 'node_memory_MemAvailable_bytes', 'node_cpu_seconds_total'];

const copyText = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

/**
 * The rows Vector's postgres sink writes through examples/vector/vector.toml, generated
 * deterministically over the corpus week (2026-01-01 .. 2026-01-08): journald logs
 * (every other minute per node, at odd seconds and milliseconds) and prometheus_scrape
 * samples turned into logs by metric_to_log (every third minute), each keeping the whole
 * event in `raw` with `source` set to its source type, as the seed's panel filters on.
 * Some rows have no node (events without a host) so `node = …` meets NULLs.
 */
export function observabilityLines(fromMinute = 0, toMinute = FULL_MINUTES): string[] {
  const lines: string[] = [];
  for (let m = fromMinute; m < toMinute; m++) {
    for (let n = 0; n < NODES.length; n++) {
      const node = (m + n) % 89 === 0 ? null : NODES[n];
      if ((m + n) % 2 === 0) {
        const at = new Date(DATASET_START + m * 60_000 + ((m * 7 + n * 11) % 60) * 1000 + ((m * 37 + n) % 1000)).toISOString();
        const unit = UNITS[(m + n) % UNITS.length];
        const message = (m + n) % 10 === 0 ? `Failed password for root from 10.0.${n}.${m % 256} port 22` : `${unit}: heartbeat ${m}`;
        const raw = { message, host: node, timestamp: at, source_type: 'journald', source: 'journald', _SYSTEMD_UNIT: unit, PRIORITY: String((m + n) % 8), structured: { seq: m, level: (m + n) % 10 === 0 ? 'warn' : 'info' } };
        lines.push(`${at}\t${node ?? '\\N'}\tjournald\t${copyText(message)}\t${copyText(JSON.stringify(raw))}\n`);
      }
      if ((m + n) % 3 === 0) {
        const at = new Date(DATASET_START + m * 60_000 + 15_000 * (n % 4)).toISOString();
        const name = METRICS[(m + n) % METRICS.length];
        const raw = { name, tags: { instance: `${NODES[n]}:9100`, job: 'node' }, kind: 'absolute', gauge: { value: ((m * 13 + n * 7) % 1000) / 10 }, host: node, timestamp: at, source: 'prometheus_scrape' };
        lines.push(`${at}\t${node ?? '\\N'}\tprometheus_scrape\t\\N\t${copyText(JSON.stringify(raw))}\n`);
      }
    }
  }
  return lines;
}

export function observabilityStream(): Readable {
  const lines = observabilityLines();
  let i = 0;
  return new Readable({
    read() {
      if (i >= lines.length) return void this.push(null);
      this.push(lines.slice(i, i + 2000).join(''));
      i += 2000;
    },
  });
}

/** COPYs the dataset into `relation` (observability_events or a reference copy). */
export async function loadObservability(c: Client, relation = 'observability_events'): Promise<void> {
  await pipeline(observabilityStream(), c.query(copyFrom(`COPY ${relation} (${OBSERVABILITY_COLUMNS.join(', ')}) FROM STDIN`)));
}
