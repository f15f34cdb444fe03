// `strata up` on an address other than loopback: the gateway serves TLS only, with the
// self-signed certificate `strata up` makes for the proxy (<data-dir>/tls/), as printed;
// a client that trusts it writes, a plaintext one is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { repoPath } from '../support/paths';

let db: TestDatabase;
let dataDir: string;
let child: ChildProcess;
let stdout = '';
let stderr = '';

beforeAll(async () => {
  db = await createTestDatabase('gw_up_tls');
  dataDir = mkdtempSync(join(tmpdir(), 'strata-up-tls-'));
  child = spawn(process.execPath, [repoPath('cli', 'dist', 'main.js'), '--pg', db.url, 'up', '--data-dir', dataDir, '--host', '0.0.0.0', '--proxy-port', '0', '--gateway-port', '0', '--otlp-grpc-port', '0'], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/Ctrl-C stops it/.test(stdout)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`strata up exited (${code}):\n${stderr}`)));
  });
}, 180_000);
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
  await db?.drop();
});

test('the gateway is printed as https, takes a write from a client trusting <data-dir>/tls, and refuses plaintext', async () => {
  const port = Number(/gateway:\s+https:\/\/0\.0\.0\.0:(\d+)/.exec(stdout)?.[1]);
  expect(port).toBeGreaterThan(0);
  expect(stdout).toContain(`trust ${join(dataDir, 'tls', 'proxy.crt')}`);
  const ca = readFileSync(join(dataDir, 'tls', 'proxy.crt'));
  const { gatewayToken } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { gatewayToken: string };
  const body = JSON.stringify([{ time: new Date().toISOString(), app: 'up-over-tls', value: 1 }]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/write/metrics', method: 'POST', ca, servername: 'localhost', headers: { authorization: `Bearer ${gatewayToken}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
  expect(status).toBe(200);
  await expect(fetch(`http://127.0.0.1:${port}/write/metrics`, { method: 'POST', headers: { authorization: `Bearer ${gatewayToken}`, 'content-type': 'application/json' }, body })).rejects.toThrow();
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  try {
    expect((await pg.query(`SELECT count(*)::int AS n FROM metrics_events WHERE app = 'up-over-tls'`)).rows).toEqual([{ n: 1 }]);
  } finally {
    await pg.end();
  }
});
