import { freePort } from '../support/ports';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../support/paths';

/**
 * The README's first command, run as a user runs it (`scripts/up.sh`, what `make up`
 * runs) in a temporary data directory: Strata comes up on embedded PostgreSQL and the
 * embedded ClickHouse engine, psql through the proxy sees rows of both tiers, a write
 * through the gateway is queryable, and a restart keeps the data and the watermark.
 */
jest.setTimeout(300_000);

interface Up {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  psql: string;
  gateway: string;
}

async function startUp(dataDir: string, pgPort: number): Promise<Up> {
  const child = spawn('bash', [repoPath('scripts', 'up.sh'), '--demo-hours', '48', '--pg-port', String(pgPort), '--proxy-port', '0', '--gateway-port', '0', '--otlp-grpc-port', '0'], {
    env: { ...process.env, STRATA_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const up: Up = { child, stdout: '', stderr: '', psql: '', gateway: '' };
  child.stderr!.on('data', (d: Buffer) => (up.stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      up.stdout += d.toString();
      if (/Ctrl-C stops it/.test(up.stdout)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`strata up exited (${code}) before it was up:\n${up.stderr}`)));
  });
  up.psql = /psql:\s+(.*psql "[^"]+")/.exec(up.stdout)![1];
  up.gateway = /gateway:\s+(http:\/\/\S+)/.exec(up.stdout)![1];
  return up;
}

async function stopUp(up: Up): Promise<number | null> {
  up.child.kill('SIGINT');
  return new Promise((resolve) => up.child.once('exit', (code) => resolve(code)));
}

/** Runs the psql line strata up printed (PGPASSFILE=… psql "…") with a query. */
function psql(up: Up, sql: string): string {
  const [, env, conninfo] = /^PGPASSFILE=(\S+) psql "([^"]+)"$/.exec(up.psql)!;
  const r = spawnSync('psql', [conninfo, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: { ...process.env, PGPASSFILE: env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('strata up (the README first command)', () => {
  // As `make up` in a checkout: the default .data/strata, whose parents do not exist yet,
  // under an ordinary (0755) directory. As root, PostgreSQL (run as user postgres) must
  // be able to pass through every level.
  const checkout = mkdtempSync(join(tmpdir(), 'strata-up-'));
  chmodSync(checkout, 0o755);
  const dataDir = join(checkout, '.data', 'strata');
  let pgPort: number;
  let up: Up | undefined;

  beforeAll(async () => {
    pgPort = await freePort();
  });
  afterAll(async () => {
    if (up && up.child.exitCode === null) await stopUp(up);
    rmSync(checkout, { recursive: true, force: true });
  });

  test('comes up, answers across both tiers, takes a write, and restarts with its data and watermark', async () => {
    up = await startUp(dataDir, pgPort);
    const inserted = Number(/metrics_events: inserted (\d+) rows/.exec(up.stderr)![1]);
    expect(up.stderr).toMatch(/tiered metrics_events: \d+ rows to ClickHouse/);

    // Through the proxy, with psql, as printed.
    expect(Number(psql(up, 'SELECT count(*) FROM metrics_events'))).toBe(inserted);
    expect(psql(up, 'EXPLAIN SELECT count(*) FROM metrics_events')).toMatch(/Strata route: split/);
    const watermark = psql(up, "SELECT watermark FROM strata.tier_state WHERE table_name = 'metrics_events'");
    expect(Number(psql(up, `SELECT count(*) FROM metrics_events WHERE time < '${watermark}'`))).toBeGreaterThan(0); // the cold tier
    expect(Number(psql(up, `SELECT count(*) FROM metrics_events WHERE time >= '${watermark}'`))).toBeGreaterThan(0); // the hot tier

    // A write through the gateway, with the token from the data directory.
    const { gatewayToken } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { gatewayToken: string };
    const res = await fetch(`${up.gateway}/write/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayToken}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ time: new Date().toISOString(), app: 'standalone-test', host: 'laptop', value: 42.5, labels: { k: 'v' } }]),
    });
    expect(res.status).toBe(200);
    expect(psql(up, "SELECT value FROM metrics_events WHERE app = 'standalone-test'")).toBe('42.5');
    const unauthorized = await fetch(`${up.gateway}/write/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(unauthorized.status).toBe(401);

    expect(await stopUp(up)).toBe(0);
    const before = inserted + 1;

    up = await startUp(dataDir, pgPort);
    expect(up.stderr).toMatch(/metrics_events: unchanged/);
    const after = Number(psql(up, 'SELECT count(*) FROM metrics_events'));
    expect(after).toBeGreaterThanOrEqual(before); // plus any minutes of demo data since
    expect(psql(up, "SELECT value FROM metrics_events WHERE app = 'standalone-test'")).toBe('42.5');
    const watermarkAfter = psql(up, "SELECT watermark FROM strata.tier_state WHERE table_name = 'metrics_events'");
    expect(new Date(watermarkAfter).getTime()).toBeGreaterThanOrEqual(new Date(watermark).getTime());
    expect(await stopUp(up)).toBe(0);
  });

  test("the README's recipe for the seed's pipeline: Vector's two sinks and the Grafana panel against what strata up printed", async () => {
    up = await startUp(dataDir, pgPort);
    const { proxyPassword, gatewayToken } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { proxyPassword: string; gatewayToken: string };
    const [, , conninfo] = /^PGPASSFILE=(\S+) psql "([^"]+)"$/.exec(up.psql)!;
    const port = Number(/port=(\d+)/.exec(conninfo)![1]);
    const at = new Date(Date.now() - 60_000).toISOString();
    const journald = { host: 'readme-node', message: 'sshd started', source_type: 'journald', timestamp: at, _SYSTEMD_UNIT: 'sshd.service' };

    // Vector's postgres sink, endpoint postgresql://strata:$STRATA_PROXY_PASSWORD@127.0.0.1:<proxy>/strata?sslmode=require:
    // its prepared insert (sslmode=require encrypts without checking the self-signed certificate).
    const pg = new Client({ host: '127.0.0.1', port, user: 'strata', password: proxyPassword, database: 'strata', ssl: { rejectUnauthorized: false } });
    await pg.connect();
    try {
      const row = { event_time: at, node: journald.host, source_type: 'journald', message: journald.message, raw: { ...journald, source: 'journald' } };
      const insert = 'INSERT INTO observability_events SELECT * FROM jsonb_populate_recordset(NULL::observability_events, $1)';
      expect((await pg.query({ name: 'sqlx_s_1', text: insert, values: [JSON.stringify([row])] })).rowCount).toBe(1);
    } finally {
      await pg.end();
    }
    // Vector's clickhouse sink, endpoint $STRATA_GATEWAY_URL, database default, table logs_events, gzip, Basic auth.
    const query = new URLSearchParams({ query: 'INSERT INTO {database:Identifier}.{table:Identifier} FORMAT JSONEachRow', param_database: 'default', param_table: 'logs_events' });
    const res = await fetch(`${up.gateway}/?input_format_import_nested_json=1&${query.toString()}`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`default:${gatewayToken}`).toString('base64'), 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(journald) + '\n'),
    });
    expect(res.status).toBe(200);

    // Grafana's PostgreSQL panel (the seed's query, variables and $__timeFilter expanded) and the logs, through the proxy.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const panel = `SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*) FROM observability_events WHERE node = 'readme-node' AND raw->>'source' = 'journald' AND event_time BETWEEN '${from}' AND '${to}' GROUP BY ts ORDER BY ts;`;
    expect(psql(up, panel)).toMatch(/^\S+ \S+\|1$/);
    expect(psql(up, "SELECT message FROM logs_events WHERE host = 'readme-node'")).toBe('sshd started');
    expect(await stopUp(up)).toBe(0);
  });
});
