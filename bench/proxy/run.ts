import { freePort } from '../../test/support/ports';
// make bench-proxy: pgbench -S (simple, extended, prepared; 1 and 16 clients) against
// PostgreSQL directly, through PgBouncer (transaction pooling, configured here in a temp
// dir on a random port) and through the Strata proxy (transaction pooling, its own
// process), in the same run on the same table. Every client connects without TLS (PgBouncer
// and the proxy have no certificate here; PostgreSQL's would make direct pay for TLS).
// Beside them runs node-relay, a bare Node.js TCP pipe: the floor any Node proxy pays.
// Prints a table, then one JSON line with every figure, each pooler's CPU time per
// transaction, and `ratio`: the lowest proxy/PgBouncer tps ratio over the cases both ran.
//   STRATA_BENCH_SECONDS per run (default 5), STRATA_BENCH_ROUNDS (default 3: the figure
//   is the median), STRATA_BENCH_SCALE (default 10)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminUrl, createTestDatabase } from '../../test/support/postgres';
import { repoPath } from '../../test/support/paths';

const SECONDS = Number(process.env.STRATA_BENCH_SECONDS || 5);
const SCALE = Number(process.env.STRATA_BENCH_SCALE || 10);
const ROUNDS = Number(process.env.STRATA_BENCH_ROUNDS || 3);
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

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - cpu[4], total };
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Target {
  name: 'direct' | 'pgbouncer' | 'proxy' | 'node-relay';
  port: number;
  user: string;
  password?: string;
  /** The pooler's process, whose CPU time per transaction is reported. */
  pid?: number;
}

function pgbench(target: Target, db: string, mode: string, clients: number): { tps: number | null; error?: string } {
  const args = ['-h', '127.0.0.1', '-p', String(target.port), '-U', target.user, '-S', '-M', mode, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), '-n', db];
  try {
    const out = execFileSync('pgbench', args, { env: { ...process.env, PGPASSWORD: target.password ?? '', PGSSLMODE: 'disable' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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

    const relayPort = await freePort();
    const relay = spawn(process.execPath, [join(__dirname, 'node-relay.js'), String(relayPort), admin.hostname, String(pgPort)], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(relay);
    await waitForPort(relayPort, relay, 'node-relay');

    const targets: Target[] = [
      { name: 'direct', port: pgPort, user: admin.username || 'postgres' },
      { name: 'pgbouncer', port: bouncerPort, user: USER, password: PASSWORD, pid: bouncer.pid },
      { name: 'proxy', port: proxyPort, user: USER, password: PASSWORD, pid: proxy.pid },
      { name: 'node-relay', port: relayPort, user: admin.username || 'postgres', pid: relay.pid },
    ];
    const results: Record<string, Record<string, number | null>> = { direct: {}, pgbouncer: {}, proxy: {}, 'node-relay': {} };
    const errors: Record<string, string> = {};
    // Microseconds of the pooler's CPU per transaction, and how busy the machine was.
    const cpuPerTx: Record<string, Record<string, number | null>> = { pgbouncer: {}, proxy: {}, 'node-relay': {} };
    const machineBusy: Record<string, Record<string, number>> = { direct: {}, pgbouncer: {}, proxy: {}, 'node-relay': {} };
    // Rounds alternate the targets case by case, so a noisy stretch of the machine (a
    // 2-core VM shares its CPUs) hits all of them; each figure is the median of its rounds.
    for (const mode of MODES) {
      for (const clients of CLIENTS) {
        const key = `${mode}_c${clients}`;
        const samples = new Map<string, { tps: number[]; cpu: number[]; busy: number[] }>(targets.map((t) => [t.name, { tps: [], cpu: [], busy: [] }]));
        for (let round = 1; round <= ROUNDS; round++) {
          for (const target of targets) {
            if (errors[`${target.name}.${key}`]) continue;
            const cpuBefore = cpuSeconds(target.pid);
            const machineBefore = machineJiffies();
            const r = pgbench(target, db.name, mode, clients);
            const machineAfter = machineJiffies();
            const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
            const sample = samples.get(target.name)!;
            if (r.error || !r.tps) {
              errors[`${target.name}.${key}`] = r.error ?? 'no tps reported';
              continue;
            }
            sample.tps.push(r.tps);
            sample.busy.push(busy);
            if (target.pid) sample.cpu.push((cpuSeconds(target.pid) - cpuBefore) / (r.tps * SECONDS));
          }
        }
        for (const target of targets) {
          const sample = samples.get(target.name)!;
          const failed = errors[`${target.name}.${key}`];
          results[target.name][key] = failed ? null : Math.round(median(sample.tps));
          machineBusy[target.name][key] = Math.round(median(sample.busy) * 100) / 100;
          if (target.pid) cpuPerTx[target.name][key] = failed ? null : Math.round(median(sample.cpu) * 1e7) / 10;
          const cpu = target.pid && cpuPerTx[target.name][key] !== null ? `  ${cpuPerTx[target.name][key]} µs CPU/tx` : '';
          const spread = sample.tps.length > 1 ? ` (${Math.min(...sample.tps)}–${Math.max(...sample.tps)})` : '';
          console.log(`${key.padEnd(14)} ${target.name.padEnd(10)} ${failed ? 'failed' : `${results[target.name][key]} tps${spread}`}  machine ${Math.round(machineBusy[target.name][key] * 100)}% busy${cpu}${failed ? `  (${failed})` : ''}`);
        }
      }
    }
    const ratiosOf = (over: Record<string, number | null>, under: Record<string, number | null>) => {
      const ratios: Record<string, number | null> = {};
      for (const key of Object.keys(over)) {
        const o = over[key];
        const u = under[key];
        ratios[key] = o && u ? Math.round((o / u) * 100) / 100 : null;
      }
      return ratios;
    };
    const ratios = ratiosOf(results.proxy, results.pgbouncer);
    const compared = Object.values(ratios).filter((r): r is number => r !== null);
    const vsDirect = ratiosOf(results.proxy, results.direct);
    console.log(
      JSON.stringify({
        bench: 'proxy',
        seconds: SECONDS,
        rounds: ROUNDS,
        scale: SCALE,
        tps: results,
        proxyVsPgbouncer: ratios,
        proxyVsDirect: vsDirect,
        nodeRelayVsPgbouncer: ratiosOf(results['node-relay'], results.pgbouncer),
        pgbouncerVsDirect: ratiosOf(results.pgbouncer, results.direct),
        poolerCpuMicrosPerTx: cpuPerTx,
        machineBusy,
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
