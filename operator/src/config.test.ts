import { resolveOperatorConfig } from './config';

describe('resolveOperatorConfig', () => {
  test('defaults: cronjob tiering, leader election on, client-go-like lease timing', () => {
    const c = resolveOperatorConfig({});
    expect(c.tiering.mode).toBe('cronjob');
    expect(c.leaderElection).toMatchObject({ enabled: true, leaseName: 'strata-operator', leaseDurationSeconds: 15, renewDeadlineMs: 10000, retryPeriodMs: 2000 });
    expect(c.defaultConnection).toBeUndefined();
  });

  test('connection settings come from the environment (the chart fills them from a Secret)', () => {
    const c = resolveOperatorConfig({ STRATA_PG_URL: 'postgres://u:p@db/x', STRATA_CLICKHOUSE_URL: 'http://ch:8123', STRATA_CLICKHOUSE_PASSWORD: 's3cret' });
    expect(c.defaultConnection).toMatchObject({ pgUrl: 'postgres://u:p@db/x', clickhouse: { url: 'http://ch:8123', password: 's3cret', database: 'strata' } });
  });

  test('refuses nonsense with a coded error', () => {
    expect(() => resolveOperatorConfig({ STRATA_OPERATOR_TIERING: 'sometimes' })).toThrow(expect.objectContaining({ code: 'OPERATOR_CONFIG' }));
    expect(() => resolveOperatorConfig({ STRATA_OPERATOR_RESYNC_MS: '-1' })).toThrow(/non-negative integer/);
  });
});
