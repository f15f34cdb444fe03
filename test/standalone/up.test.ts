import { freePort } from '../support/ports';
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI } from '../support/cli';
import { makePrivateCheckout, type PrivateCheckout } from './private-checkout';

/**
 * The README's first command, run as a user runs it (`scripts/up.sh`, what `make up`
 * runs) from a fresh checkout under a directory only its owner may enter: Strata comes
 * up on embedded PostgreSQL and the embedded ClickHouse engine, psql through the proxy
 * sees rows of both tiers, a write through the gateway is queryable, and a restart keeps
 * the data and the watermark. Also run as an ordinary user (as root: user nobody).
 */
jest.setTimeout(300_000);

interface Up {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  psql: string;
  gateway: string;
}

const PORT_ARGS = (pgPort: number) => ['--pg-port', String(pgPort), '--proxy-port', '0', '--gateway-port', '0', '--otlp-grpc-port', '0'];

/** `make up` in `checkout`, as a user types it there: the default data directory .data/strata. */
function startMakeUp(checkout: string, pgPort: number): Promise<Up> {
  const env = { ...process.env };
  delete env.STRATA_DATA_DIR;
  return startUp('bash', [join(checkout, 'scripts', 'up.sh'), '--demo-hours', '48', ...PORT_ARGS(pgPort)], { cwd: checkout, env });
}

async function startUp(command: string, args: string[], options: SpawnOptions): Promise<Up> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** As root, a new embedded cluster lives under /var/lib/strata/postgres/<id>/, linked from <data-dir>/postgres. */
function removeRelocatedCluster(dataDir: string): void {
  const link = join(dataDir, 'postgres');
  if (lstatOrUndefined(link)?.isSymbolicLink()) rmSync(dirname(readlinkSync(link)), { recursive: true, force: true });
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const isRoot = process.getuid?.() === 0;

describe('strata up (the README first command)', () => {
  // As `make up` in a checkout a user picked: under a directory only its owner may enter
  // (root's home, a fresh mktemp -d). As root, PostgreSQL runs as user postgres, which
  // cannot pass through it, and strata up must not open it.
  let checkout: PrivateCheckout;
  let dataDir: string;
  let pgPort: number;
  let up: Up | undefined;

  beforeAll(async () => {
    checkout = makePrivateCheckout();
    dataDir = join(checkout.root, '.data', 'strata');
    pgPort = await freePort();
  });
  afterAll(async () => {
    if (up && up.child.exitCode === null) await stopUp(up);
    if (!checkout) return;
    removeRelocatedCluster(dataDir);
    rmSync(checkout.closedDir, { recursive: true, force: true });
  });

  test('comes up, answers across both tiers, takes a write, and restarts with its data and watermark', async () => {
    expect(statSync(checkout.closedDir).mode & 0o777).toBe(0o700);
    up = await startMakeUp(checkout.root, pgPort);
    const inserted = Number(/metrics_events: inserted (\d+) rows/.exec(up.stderr)![1]);
    expect(up.stderr).toMatch(/tiered metrics_events: \d+ rows to ClickHouse/);
    // Nothing of the user's was opened; as root the cluster lives where postgres can reach it.
    expect(statSync(checkout.closedDir).mode & 0o777).toBe(0o700);
    if (isRoot) {
      const cluster = readlinkSync(join(dataDir, 'postgres'));
      expect(cluster).toMatch(/^\/var\/lib\/strata\/postgres\/[0-9a-f]+\/data$/);
      expect(statSync(cluster).uid).toBe(Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })));
      expect(readFileSync(join(dirname(cluster), 'data-dir'), 'utf8').trim()).toBe(dataDir);
      expect(up.stderr).toContain(`data in ${cluster}`);
    }

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

    up = await startMakeUp(checkout.root, pgPort);
    expect(up.stderr).toMatch(/metrics_events: unchanged/);
    const after = Number(psql(up, 'SELECT count(*) FROM metrics_events'));
    expect(after).toBeGreaterThanOrEqual(before); // plus any minutes of demo data since
    expect(psql(up, "SELECT value FROM metrics_events WHERE app = 'standalone-test'")).toBe('42.5');
    const watermarkAfter = psql(up, "SELECT watermark FROM strata.tier_state WHERE table_name = 'metrics_events'");
    expect(new Date(watermarkAfter).getTime()).toBeGreaterThanOrEqual(new Date(watermark).getTime());
    expect(await stopUp(up)).toBe(0);
  });

  test("the README's recipe for the seed's pipeline: Vector's two sinks and the Grafana panel against what strata up printed", async () => {
    up = await startMakeUp(checkout.root, pgPort);
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

describe('strata up as an ordinary user', () => {
  // Run as yourself, PostgreSQL runs as you and its data stays inside the data directory.
  // As root this runs the CLI as user nobody (this tree is readable by all), its data
  // directory in a directory only nobody may enter.
  const home = mkdtempSync(join(tmpdir(), 'strata-user-'));
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }));
  const account: { uid?: number; gid?: number } = isRoot ? { uid: id('-u'), gid: id('-g') } : {};
  const dataDir = join(home, '.data', 'strata');
  let up: Up | undefined;

  beforeAll(() => {
    if (isRoot) chownSync(home, account.uid!, account.gid!);
  });
  afterAll(async () => {
    if (up && up.child.exitCode === null) await stopUp(up);
    rmSync(home, { recursive: true, force: true });
  });

  test('comes up with the cluster in its data directory and answers across both tiers', async () => {
    const args = [CLI, 'up', '--demo', '--demo-hours', '26', '--data-dir', dataDir, ...PORT_ARGS(await freePort())];
    up = await startUp(process.execPath, args, { ...account, cwd: home, env: { ...process.env, HOME: home } });
    const cluster = join(dataDir, 'postgres');
    expect(lstatSync(cluster).isDirectory()).toBe(true);
    expect(statSync(cluster).uid).toBe(isRoot ? account.uid : process.getuid!());
    expect(up.stderr).toContain(`data in ${cluster}`);
    expect(psql(up, 'EXPLAIN SELECT count(*) FROM metrics_events')).toMatch(/Strata route: split/);
    expect(Number(psql(up, 'SELECT count(*) FROM metrics_events'))).toBe(Number(/metrics_events: inserted (\d+) rows/.exec(up.stderr)![1]));
    expect(await stopUp(up)).toBe(0);
  });
});
