import { GatewayConfigError } from '../errors';

/**
 * `ingest.buffer: nats` — a NATS JetStream stream between the gateway and the stores.
 * The gateway acknowledges a request once JetStream stored it; writers (in the gateway
 * process, or `strata writer`) apply the stream to PostgreSQL and ClickHouse exactly once.
 *
 * The stream uses work-queue retention with `discard: new`: an applied message is deleted
 * on its ack, so the stream's limits bound the backlog, and a full stream refuses new
 * publishes, which the gateway answers with 429 + Retry-After.
 */
export interface BufferConfig {
  /** `nats://host:port`, several comma-separated; `user:password@` in the URL is used to log in. */
  url: string;
  /** JetStream stream holding accepted batches. Default STRATA_INGEST. */
  stream?: string;
  /** Subjects are `<prefix>.<store>.<schema>.<table>`. Default strata.ingest. */
  subjectPrefix?: string;
  /** Stream replicas (a JetStream cluster of at least this many servers). Default 1. */
  replicas?: number;
  /** Backlog limits; -1 = none. Defaults: 1 GiB, no message limit, 7 days. */
  maxBytes?: number;
  maxMessages?: number;
  maxAgeSeconds?: number;
  /** Window in which JetStream drops a repeated Nats-Msg-Id. Default 120 s. */
  duplicateWindowSeconds?: number;
  /** Poison batches with their reason: stream and subject prefix. Default STRATA_INGEST_DEAD, strata.dead. */
  deadLetterStream?: string;
  deadLetterPrefix?: string;
  /** Durable pull consumer all writers share. Default strata-writers. */
  consumer?: string;
  /** Run writers in the gateway process. Default true; false when `strata writer` processes do it. */
  writers?: boolean;
  /** Most messages one writer applies in one transaction. Default 64. */
  batchMessages?: number;
  /** Seconds JetStream waits for an ack before redelivering. Default 30. */
  ackWaitSeconds?: number;
  /** A publish not stored within this time fails the request (503). Default 5000 ms. */
  publishTimeoutMs?: number;
  /** Applied message ids are kept at least this long after their ack floor passed. Default 1 h. */
  ledgerRetentionSeconds?: number;
}

export type ResolvedBufferConfig = Required<BufferConfig>;

export const BUFFER_DEFAULTS = {
  stream: 'STRATA_INGEST',
  subjectPrefix: 'strata.ingest',
  replicas: 1,
  maxBytes: 1024 * 1024 * 1024,
  maxMessages: -1,
  maxAgeSeconds: 7 * 24 * 3600,
  duplicateWindowSeconds: 120,
  deadLetterStream: 'STRATA_INGEST_DEAD',
  deadLetterPrefix: 'strata.dead',
  consumer: 'strata-writers',
  writers: true,
  batchMessages: 64,
  ackWaitSeconds: 30,
  publishTimeoutMs: 5000,
  ledgerRetentionSeconds: 3600,
} as const satisfies Omit<ResolvedBufferConfig, 'url'>;

const NAME = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function resolveBufferConfig(config: BufferConfig): ResolvedBufferConfig {
  const c: ResolvedBufferConfig = { ...BUFFER_DEFAULTS, ...dropUndefined(config) } as ResolvedBufferConfig;
  for (const server of c.url.split(',')) {
    let u: URL;
    try {
      u = new URL(server.trim());
    } catch {
      throw new GatewayConfigError('buffer URL must be nats://host:port (comma-separated for several servers)');
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new GatewayConfigError(`buffer URL scheme must be nats:// or tls://, not ${u.protocol}`);
  }
  for (const k of ['stream', 'deadLetterStream', 'consumer'] as const) {
    if (!NAME.test(c[k])) throw new GatewayConfigError(`buffer.${k} must be letters, digits, _ or -`);
  }
  if (c.stream === c.deadLetterStream) throw new GatewayConfigError('buffer.stream and buffer.deadLetterStream must differ');
  for (const k of ['subjectPrefix', 'deadLetterPrefix'] as const) {
    if (!SUBJECT.test(c[k])) throw new GatewayConfigError(`buffer.${k} must be dot-separated tokens without wildcards`);
  }
  if (c.subjectPrefix === c.deadLetterPrefix || c.subjectPrefix.startsWith(c.deadLetterPrefix + '.') || c.deadLetterPrefix.startsWith(c.subjectPrefix + '.')) {
    throw new GatewayConfigError('buffer.subjectPrefix and buffer.deadLetterPrefix must not overlap');
  }
  for (const k of ['replicas', 'batchMessages', 'ackWaitSeconds', 'publishTimeoutMs', 'duplicateWindowSeconds', 'ledgerRetentionSeconds'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new GatewayConfigError(`buffer.${k} must be a positive integer`);
  }
  for (const k of ['maxBytes', 'maxMessages', 'maxAgeSeconds'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < -1 || c[k] === 0) throw new GatewayConfigError(`buffer.${k} must be a positive integer or -1 (no limit)`);
  }
  if (c.replicas > 5) throw new GatewayConfigError('buffer.replicas must be at most 5 (JetStream)');
  return c;
}

/**
 * The buffer settings from the environment (read by entry points only):
 * STRATA_GATEWAY_BUFFER=nats://… turns the buffer on; STRATA_GATEWAY_BUFFER_STREAM,
 * _SUBJECT_PREFIX, _DEAD_LETTER_STREAM, _DEAD_LETTER_PREFIX, _REPLICAS, _MAX_BYTES,
 * _MAX_MESSAGES, _MAX_AGE_SECONDS, _CONSUMER, _WRITERS (0: none in this process),
 * _BATCH_MESSAGES, _ACK_WAIT_SECONDS.
 */
export function bufferConfigFromEnv(env: NodeJS.ProcessEnv): BufferConfig | undefined {
  const url = env.STRATA_GATEWAY_BUFFER;
  if (!url || url === 'direct') return undefined;
  const num = (name: string): number | undefined => {
    const v = env[`STRATA_GATEWAY_BUFFER_${name}`];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new GatewayConfigError(`STRATA_GATEWAY_BUFFER_${name} must be a number`);
    return n;
  };
  const writers = env.STRATA_GATEWAY_BUFFER_WRITERS;
  return dropUndefined({
    url,
    stream: env.STRATA_GATEWAY_BUFFER_STREAM || undefined,
    subjectPrefix: env.STRATA_GATEWAY_BUFFER_SUBJECT_PREFIX || undefined,
    deadLetterStream: env.STRATA_GATEWAY_BUFFER_DEAD_LETTER_STREAM || undefined,
    deadLetterPrefix: env.STRATA_GATEWAY_BUFFER_DEAD_LETTER_PREFIX || undefined,
    consumer: env.STRATA_GATEWAY_BUFFER_CONSUMER || undefined,
    replicas: num('REPLICAS'),
    maxBytes: num('MAX_BYTES'),
    maxMessages: num('MAX_MESSAGES'),
    maxAgeSeconds: num('MAX_AGE_SECONDS'),
    batchMessages: num('BATCH_MESSAGES'),
    ackWaitSeconds: num('ACK_WAIT_SECONDS'),
    writers: writers === undefined || writers === '' ? undefined : writers !== '0' && writers !== 'false',
  }) as BufferConfig;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Servers and credentials for the NATS client; the credentials never reach a log line. */
export function natsConnectOptions(url: string): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(',').map((s) => {
    const u = new URL(s.trim());
    if (u.username) {
      user = decodeURIComponent(u.username);
      pass = decodeURIComponent(u.password);
    }
    return `${u.protocol}//${u.host}`;
  });
  return { servers, ...(user !== undefined ? { user, pass } : {}) };
}
