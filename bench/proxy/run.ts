import { freePort } from '../../test/support/ports';
// make bench-proxy: pgbench -S (simple, extended, prepared; 1 and 16 clients) against
// PostgreSQL directly, through PgBouncer (transaction pooling, configured here in a temp
// dir on a random port) and through the Strata proxy (transaction pooling, its own
// process), in the same run on the same table. Prints a table, then one JSON line with
// every figure and `ratio`: the lowest proxy/PgBouncer tps ratio over the cases both ran.
//   STRATA_BENCH_SECONDS (default 8), STRATA_BENCH_SCALE (default 10)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminUrl, createTestDatabase } from '../../test/support/postgres';
import { repoPath } from '../../test/support/paths';

const SECONDS = Number(process.env.STRATA_BENCH_SECONDS || 8);
const SCALE = Number(process.env.STRATA_BENCH_SCALE || 10);
const USER = 'bench';
const PASSWORD = 'bench-password-not-secret';
const MODES = ['simple', 'extended', 'prepared'] as const;
const CLIENTS = [1, 16] as const;

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not start on port ${port}`);
}

interface Target {
  name: 'direct' | 'pgbouncer' | 'proxy';
  port: number;
  user: string;
  password?: string;
}

function pgbench(target: Target, db: string, mode: string, clients: number): { tps: number | null; error?: string } {
  const args = ['-h', '127.0.0.1', '-p', String(target.port), '-U', target.user, '-S', '-M', mode, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), '-n', db];
  try {
    const out = execFileSync('pgbench', args, { env: { ...process.env, PGPASSWORD: target.password ?? '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
    return { tps: m ? Math.round(Number(m[1])) : null };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    // A run with client errors is incomplete: its tps is not a figure to compare.
    const reason = (e.stderr ?? '').split('\n').find((l) => /error|FATAL|ERROR/.test(l)) ?? 'pgbench failed';
    return { tps: null, error: reason.slice(0, 200) };
  }
}

async function main(): Promise<void> {
  const db = await createTestDatabase('bench_proxy');
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-proxy-'));
  chmodSync(dir, 0o755);
  const children: ChildProcess[] = [];
  try {
    const admin = new URL(adminUrl());
    const pgPort = Number(admin.port || 5432);
    execFileSync('pgbench', ['-i', '-q', '-s', String(SCALE), '-h', admin.hostname, '-p', String(pgPort), '-U', admin.username || 'postgres', db.name], { stdio: 'ignore' });

    // PgBouncer: transaction pooling, SCRAM for clients like the proxy, trust to PostgreSQL.
    const bouncerPort = await freePort();
    writeFileSync(join(dir, 'userlist.txt'), `"${USER}" "${PASSWORD}"\n`);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${db.name} = host=${admin.hostname} port=${pgPort} user=${admin.username || 'postgres'} dbname=${db.name}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${bouncerPort}`,
        "unix_socket_dir = ''",
        'auth_type = scram-sha-256',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        'default_pool_size = 20',
        'max_client_conn = 200',
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        'log_connections = 0',
        'log_disconnections = 0',
        '',
      ].join('\n'),
    );
    for (const f of ['userlist.txt', 'pgbouncer.ini']) chmodSync(join(dir, f), 0o644);
    chmodSync(dir, 0o777);
    // PgBouncer refuses to run as root; -u drops to the postgres user.
    const bouncer = spawn('pgbouncer', [...(process.getuid?.() === 0 ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
    children.push(bouncer);
    await waitForPort(bouncerPort, bouncer, 'pgbouncer');

    const proxyPort = await freePort();
    const proxy = spawn(process.execPath, [repoPath('proxy/dist/main.js')], {
      env: { ...process.env, STRATA_PG_URL: adminUrl(), STRATA_PROXY_LISTEN: `127.0.0.1:${proxyPort}`, STRATA_PROXY_USERS: `${USER}:${PASSWORD}`, STRATA_PROXY_POOL_MODE: 'transaction', STRATA_PROXY_POOL_SIZE: '20', STRATA_LOG_LEVEL: 'warn', STRATA_CLICKHOUSE_PATH: join(tmpdir(), `strata-bench-proxy-ch-${process.pid}`) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(proxy);
    await waitForPort(proxyPort, proxy, 'proxy');

    const targets: Target[] = [
      { name: 'direct', port: pgPort, user: admin.username || 'postgres' },
      { name: 'pgbouncer', port: bouncerPort, user: USER, password: PASSWORD },
      { name: 'proxy', port: proxyPort, user: USER, password: PASSWORD },
    ];
    const results: Record<string, Record<string, number | null>> = { direct: {}, pgbouncer: {}, proxy: {} };
    const errors: Record<string, string> = {};
    for (const mode of MODES) {
      for (const clients of CLIENTS) {
        const key = `${mode}_c${clients}`;
        for (const target of targets) {
          const r = pgbench(target, db.name, mode, clients);
          results[target.name][key] = r.tps;
          if (r.error) errors[`${target.name}.${key}`] = r.error;
          console.log(`${key.padEnd(14)} ${target.name.padEnd(10)} ${r.tps ?? 'failed'} tps${r.error ? `  (${r.error})` : ''}`);
        }
      }
    }
    const ratios: Record<string, number | null> = {};
    for (const key of Object.keys(results.proxy)) {
      const p = results.proxy[key];
      const b = results.pgbouncer[key];
      ratios[key] = p && b ? Math.round((p / b) * 100) / 100 : null;
    }
    const compared = Object.values(ratios).filter((r): r is number => r !== null);
    const vsDirect: Record<string, number | null> = {};
    for (const key of Object.keys(results.proxy)) {
      const p = results.proxy[key];
      const d = results.direct[key];
      vsDirect[key] = p && d ? Math.round((p / d) * 100) / 100 : null;
    }
    console.log(
      JSON.stringify({
        bench: 'proxy',
        seconds: SECONDS,
        scale: SCALE,
        tps: results,
        proxyVsPgbouncer: ratios,
        proxyVsDirect: vsDirect,
        errors,
        ratio: compared.length ? Math.min(...compared) : null,
      }),
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
