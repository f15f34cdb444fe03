// TLS on the gateway's listeners, configured as a deployment does (STRATA_GATEWAY_TLS_CERT
// and _KEY naming PEM files): real HTTPS and gRPC-over-TLS clients that trust the
// certificate write rows; plaintext clients on the same ports are refused and write nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import { startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startGatewayProcess, type GatewayProcess } from './gateway-process';

const TOKEN = 'tls-test-token-0123456789';
const METRICS_EXPORT = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

let dir: string;
let ca: Buffer;
let db: TestDatabase;
let ch: ChdbHttpServer;
let gw: GatewayProcess;
let pg: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-gateway-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'tls.crt'));
  db = await createTestDatabase('gw_tls');
  ch = await startChdbHttpServer({});
  gw = await startGatewayProcess({
    STRATA_PG_URL: db.url,
    STRATA_CLICKHOUSE_URL: ch.url,
    STRATA_GATEWAY_TOKENS: TOKEN,
    STRATA_GATEWAY_TLS_CERT: join(dir, 'tls.crt'),
    STRATA_GATEWAY_TLS_KEY: join(dir, 'tls.key'),
  });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
});
afterAll(async () => {
  await gw?.stop();
  await pg?.end();
  await ch?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function httpsPost(path: string, body: string, token = TOKEN): Promise<{ status: number; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gw.port, path, method: 'POST', ca, servername: 'localhost', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        const protocol = (res.socket as TLSSocket).getProtocol() ?? 'none';
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text, protocol }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const appRows = async (app: string) => (await pg.query('SELECT count(*)::int AS n FROM metrics_events WHERE app = $1', [app])).rows[0].n as number;

describe('HTTP', () => {
  test('the log says TLS; an HTTPS client that trusts the certificate writes rows; a wrong token is still 401', async () => {
    expect(gw.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'gateway listening', tls: true })]));
    const ok = await httpsPost('/write/metrics', JSON.stringify([{ time: '2026-12-01T00:00:00Z', app: 'over_tls', value: 1 }]));
    expect(ok).toMatchObject({ status: 200, protocol: expect.stringMatching(/^TLSv1\.[23]$/) });
    expect(await appRows('over_tls')).toBe(1);
    expect((await httpsPost('/write/metrics', '[]', 'wrong-token-wrong-token')).status).toBe(401);
  });

  test('a client that does not trust the certificate stops at the handshake', async () => {
    await expect(fetch(`https://127.0.0.1:${gw.port}/healthz`)).rejects.toThrow();
  });

  test('plaintext HTTP on the port is refused: no answer, nothing written, the token never read', async () => {
    const attempt = fetch(`http://127.0.0.1:${gw.port}/write/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ time: '2026-12-01T00:00:00Z', app: 'in_clear', value: 1 }]),
    });
    await expect(attempt).rejects.toThrow();
    expect(await appRows('in_clear')).toBe(0);
  });
});

describe('gRPC', () => {
  const exportEmpty = (credentials: grpc.ChannelCredentials, token = TOKEN) => {
    const client = new grpc.Client(`127.0.0.1:${gw.grpcPort}`, credentials, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return new Promise<{ code: number }>((resolve) => {
      client.makeUnaryRequest(
        METRICS_EXPORT,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        metadata,
        { deadline: Date.now() + 5000 },
        (err) => {
          client.close();
          resolve({ code: err ? err.code : grpc.status.OK });
        },
      );
    });
  };

  test('OTLP Export over TLS with a client that trusts the certificate → OK; a wrong token → UNAUTHENTICATED', async () => {
    expect(await exportEmpty(grpc.credentials.createSsl(ca))).toEqual({ code: grpc.status.OK });
    expect(await exportEmpty(grpc.credentials.createSsl(ca), 'wrong-token-wrong-token')).toEqual({ code: grpc.status.UNAUTHENTICATED });
  });

  test('a plaintext gRPC client, and one that does not trust the certificate, never get through', async () => {
    expect(await exportEmpty(grpc.credentials.createInsecure())).toEqual({ code: grpc.status.UNAVAILABLE });
    expect(await exportEmpty(grpc.credentials.createSsl())).toEqual({ code: grpc.status.UNAVAILABLE });
  });
});
