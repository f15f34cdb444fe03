// Many concurrent clients through a small transaction pool with zero errors. The default
// is short so `make test` stays fast (50 clients, 10 s); the soak run is opt-in:
//   STRATA_PROXY_SOAK_CLIENTS=200 STRATA_PROXY_SOAK_SECONDS=300 scripts/run-jest.sh test/proxy/concurrency.test.ts
import { Client } from 'pg';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';

const CLIENTS = Number(process.env.STRATA_PROXY_SOAK_CLIENTS || 50);
const SECONDS = Number(process.env.STRATA_PROXY_SOAK_SECONDS || 10);

describe(`${CLIENTS} concurrent clients for ${SECONDS} s`, () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ poolSize: 10, acquireTimeoutMs: 60000 });
    const c = new Client({ connectionString: fx.url });
    await c.connect();
    await c.query('CREATE TABLE soak (client int, n int, at timestamptz DEFAULT now())');
    await c.end();
  });
  afterAll(() => fx.stop());

  it('serves every query correctly', async () => {
    const deadline = Date.now() + SECONDS * 1000;
    const errors: string[] = [];
    let queries = 0;
    const run = async (k: number) => {
      const c = new Client({ connectionString: fx.url });
      await c.connect();
      let n = 0;
      while (Date.now() < deadline) {
        try {
          const a = await c.query('SELECT $1::int AS k, $2::int AS n', [k, n]);
          if (a.rows[0].k !== k || a.rows[0].n !== n) errors.push(`client ${k}: wrong row`);
          const b = await c.query({ name: 'count-mine', text: 'SELECT count(*)::int AS c FROM soak WHERE client = $1', values: [k] });
          if (b.rows[0].c !== n) errors.push(`client ${k}: expected ${n} rows, saw ${b.rows[0].c}`);
          await c.query('BEGIN');
          await c.query('INSERT INTO soak (client, n) VALUES ($1, $2)', [k, n]);
          await c.query('COMMIT');
          const s = (await c.query(`SELECT ${k} AS k; SELECT ${n} AS n`)) as unknown as Array<{ rows: Array<Record<string, number>> }>;
          if (s[0].rows[0].k !== k || s[1].rows[0].n !== n) errors.push(`client ${k}: wrong simple result`);
          n++;
          queries += 6;
        } catch (error) {
          errors.push(`client ${k}: ${(error as Error).message}`);
        }
      }
      await c.end();
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, k) => run(k)));
    console.log(JSON.stringify({ concurrency: { clients: CLIENTS, seconds: SECONDS, queries, errors: errors.length } }));
    expect(errors.slice(0, 10)).toEqual([]);
    expect(queries).toBeGreaterThan(CLIENTS * 6);
  }, (SECONDS + 120) * 1000);
});
