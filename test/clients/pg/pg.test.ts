// node-postgres (`pg`) through the proxy: one scripted session, SCRAM over TLS.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { startProxyFixture, type ProxyFixture } from '../../support/proxy-fixture';

describe('node-postgres via the proxy', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
  });
  afterAll(() => fx.stop());

  it('runs the scripted session', async () => {
    const c = new Client({ connectionString: fx.url, ssl: { rejectUnauthorized: false } });
    await c.connect();
    try {
      expect((c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted).toBe(true);
      const catalog = await c.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'pg_catalog'");
      expect(catalog.rows[0].n).toBeGreaterThan(50);
      await c.query("CREATE TABLE pg_items (id int primary key, name text); INSERT INTO pg_items SELECT g, 'n' || g FROM generate_series(1, 10) g");
      expect((await c.query('SELECT name FROM pg_items WHERE id = $1', [4])).rows).toEqual([{ name: 'n4' }]);
      for (let i = 1; i <= 5; i++) {
        expect((await c.query({ name: 'by-id', text: 'SELECT name FROM pg_items WHERE id = $1', values: [i] })).rows).toEqual([{ name: `n${i}` }]);
      }
      await c.query('BEGIN');
      await c.query("UPDATE pg_items SET name = 'changed' WHERE id = 1");
      await c.query('ROLLBACK');
      expect((await c.query('SELECT name FROM pg_items WHERE id = 1')).rows).toEqual([{ name: 'n1' }]);
      await pipeline(Readable.from(['600\tcopied\n601\tcopied\n']), c.query(copyFrom('COPY pg_items FROM STDIN')));
      let out = '';
      await pipeline(
        c.query(copyTo('COPY (SELECT * FROM pg_items WHERE id >= 600 ORDER BY id) TO STDOUT')),
        new Writable({
          write(chunk: Buffer, _e, done) {
            out += chunk.toString();
            done();
          },
        }),
      );
      expect(out).toBe('600\tcopied\n601\tcopied\n');
      const sleeping = c.query('SELECT pg_sleep(30)');
      await new Promise((r) => setTimeout(r, 300));
      const canceller = new Client({ connectionString: fx.url, ssl: { rejectUnauthorized: false } });
      (canceller as unknown as { cancel(t: Client, q: unknown): void }).cancel(c, (c as unknown as { activeQuery: unknown }).activeQuery);
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      await expect(c.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await c.end();
    }
  });
});
