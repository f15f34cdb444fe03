import { Writable } from 'node:stream';
import pino from 'pino';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { createReaderRole, type ReaderRole } from '../support/sql-reader-role';

// What the gateway logs while refusing and failing requests must not contain row values,
// SQL parameters or credentials.

let f: GatewayFixture;
let role: ReaderRole;
let logged = '';
const SQL_TOKEN = 'logging-sql-token-0123456789';
beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  f = await startGatewayFixture('gw_logging', { logger: pino({ level: 'debug' }, sink) });
  role = await createReaderRole(f.db);
  await f.restartGateway({ sqlApi: { tokens: [SQL_TOKEN], pgUrl: role.url } });
});
afterAll(async () => {
  await f?.close();
  await role?.drop();
});

test('refused and failed requests are logged without row data, parameters or tokens', async () => {
  const secretValue = 'SECRET-ROW-VALUE-42';
  const post = (path: string, body: string, token = GATEWAY_TEST_TOKEN) =>
    fetch(f.gateway.url + path, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  expect((await post('/write/metrics', JSON.stringify([{ time: '2026-11-25T00:00:00Z', app: secretValue, value: secretValue }]))).status).toBe(400);
  expect((await post('/write/metrics', `[{"app": "${secretValue}"`)).status).toBe(400);
  expect((await post('/write/metrics', '[]', 'WRONG-TOKEN-' + secretValue)).status).toBe(401);
  expect((await post('/v1/sql', JSON.stringify({ sql: `SELECT $1::int`, params: [secretValue] }), SQL_TOKEN)).status).toBe(400);
  expect((await post('/v1/sql', JSON.stringify({ sql: `SELECT 1; SELECT '${secretValue}'` }), SQL_TOKEN)).status).toBe(400);
  expect((await post('/v1/sql', JSON.stringify({ sql: 'SELECT 1' }))).status).toBe(403);
  expect((await fetch(`${f.gateway.url}/write?p=${secretValue}`, { method: 'POST', body: `m,t=${secretValue} v=`, headers: { authorization: `Token ${GATEWAY_TEST_TOKEN}` } })).status).toBe(400);
  expect(logged).toMatch(/request refused/);
  expect(logged).not.toContain(secretValue);
  expect(logged).not.toContain(GATEWAY_TEST_TOKEN);
  expect(logged).not.toContain(SQL_TOKEN);
});
