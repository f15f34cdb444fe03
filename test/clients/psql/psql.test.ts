// psql through the proxy: a scripted session over SCRAM + TLS, and a cancel by SIGINT.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../../support/proxy-fixture';
import { runClient } from '../../support/proxy-clients';

describe('psql via the proxy', () => {
  let fx: ProxyFixture;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
    dir = mkdtempSync(join(tmpdir(), 'strata-psql-'));
    env = { PGHOST: '127.0.0.1', PGPORT: String(fx.port), PGUSER: PROXY_USER, PGPASSWORD: PROXY_PASSWORD, PGDATABASE: fx.db.name, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' };
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await fx.stop();
  });

  it('runs the scripted session', async () => {
    writeFileSync(join(dir, 'in.tsv'), '500\tcopied\n501\tcopied\n');
    const script = readFileSync(join(__dirname, 'session.sql'), 'utf8').replace('COPY_IN_FILE', join(dir, 'in.tsv')).replace('COPY_OUT_FILE', join(dir, 'out.tsv'));
    writeFileSync(join(dir, 'session.sql'), script);
    const result = await runClient('psql', ['-X', '-v', 'ON_ERROR_STOP=0', '-f', join(dir, 'session.sql')], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/catalog_ok\s*\n-+\n\s*t/);
    expect(result.stdout).toMatch(/n2\n/);
    expect(result.stdout).toMatch(/after_rollback\s*\n-+\n\s*n1/);
    expect(readFileSync(join(dir, 'out.tsv'), 'utf8')).toBe('500\tcopied\n501\tcopied\n');
    expect(result.stderr).toMatch(/relation "no_such_table" does not exist/);
    expect(result.stdout).toMatch(/recovered\s*\n-+\n\s*42/);
    expect(result.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
  });

  it('cancels a long pg_sleep when interrupted (CancelRequest through the proxy)', async () => {
    const started = Date.now();
    let pid = 0;
    const running = runClient('psql', ['-X', '-c', 'SELECT pg_sleep(30)'], env, 60000, (p) => (pid = p));
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGINT');
    const result = await running;
    expect(result.stderr).toMatch(/canceling statement due to user request/);
    expect(Date.now() - started).toBeLessThan(15000);
  });
});
