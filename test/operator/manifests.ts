// TieredTable manifests for the operator suites.
export interface TtOptions {
  name: string;
  namespace: string;
  table: string;
  extraColumns?: Array<{ name: string; type: string }>;
  coldRetention?: string;
  partitionBy?: string;
  deletionPolicy?: 'Retain' | 'Delete';
  every?: string;
  mode?: string;
  rollupAggregates?: Record<string, string[]>;
  timeColumn?: string;
  /** null: no spec.connection (the operator's own settings apply). */
  secret?: string | null;
}

export function tieredTable(o: TtOptions): string {
  return JSON.stringify({
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'TieredTable',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      table: o.table,
      timeColumn: o.timeColumn ?? 'time',
      columns: [
        { name: 'time', type: 'timestamptz' },
        { name: 'app', type: 'text' },
        { name: 'host', type: 'text' },
        { name: 'value', type: 'double precision' },
        ...(o.extraColumns ?? []),
      ],
      ...(o.mode ? { mode: o.mode } : {}),
      hot: { chunkInterval: '1h', retention: '24h' },
      cold: { orderBy: ['app', 'host', 'time'], partitionBy: o.partitionBy ?? 'day', retention: o.coldRetention ?? '30d' },
      rollups: o.mode === 'hot-only' ? [] : [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: o.rollupAggregates ?? { value: ['avg', 'max', 'count'] } }],
      tiering: { every: o.every ?? '3s', batchRows: 10000 },
      deletionPolicy: o.deletionPolicy ?? 'Retain',
      ...(o.secret === null ? {} : { connection: { secretRef: { name: o.secret ?? 'strata-connection' } } }),
    },
  });
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface TtObject {
  metadata: { generation: number; finalizers?: string[]; uid: string };
  status?: {
    observedGeneration?: number;
    watermark?: string;
    conditions?: Condition[];
    lastTiering?: { rows?: number; durationMs?: number; error?: string; finishedAt?: string };
    rowsHot?: number;
    rowsCold?: number;
    lagSeconds?: number;
  };
}

export const cond = (o: TtObject, type: string): Condition | undefined => o.status?.conditions?.find((c) => c.type === type);
