import { CONDITION, REASON, setCondition, summarizeReady } from './conditions';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.500Z');

describe('setCondition', () => {
  test('keeps lastTransitionTime while the status stays, moves it when the status flips', () => {
    let c = setCondition(undefined, { type: 'HotReady', status: 'True', reason: REASON.hotTableReady, message: 'ok' }, 1, t0);
    expect(c).toEqual([{ type: 'HotReady', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'HotTableReady', message: 'ok' }]);
    c = setCondition(c, { type: 'HotReady', status: 'True', reason: REASON.hotTableReady, message: 'still ok' }, 2, t1);
    expect(c[0]).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2, message: 'still ok' });
    c = setCondition(c, { type: 'HotReady', status: 'False', reason: REASON.hotUnavailable, message: 'down' }, 2, t1);
    expect(c[0]).toMatchObject({ status: 'False', lastTransitionTime: '2026-01-01T00:05:00Z', reason: 'HotUnavailable' });
  });

  test('leaves other conditions in place and does not mutate its input', () => {
    const before = setCondition(undefined, { type: 'ColdReady', status: 'True', reason: REASON.coldTableReady, message: '' }, 1, t0);
    const frozen = JSON.stringify(before);
    const after = setCondition(before, { type: 'HotReady', status: 'True', reason: REASON.hotTableReady, message: '' }, 1, t0);
    expect(after.map((c) => c.type)).toEqual(['ColdReady', 'HotReady']);
    expect(JSON.stringify(before)).toBe(frozen);
  });
});

describe('summarizeReady', () => {
  test('is False with the first failing condition as its reason', () => {
    let c = setCondition(undefined, { type: 'SchemaInSync', status: 'True', reason: REASON.inSync, message: '' }, 1, t0);
    c = setCondition(c, { type: 'ColdReady', status: 'False', reason: REASON.coldUnavailable, message: 'connection refused' }, 1, t0);
    expect(summarizeReady(c)).toEqual({ type: CONDITION.ready, status: 'False', reason: 'ColdUnavailable', message: 'ColdReady: connection refused' });
  });

  test('an outage is the reason even when the schema step failed because of it', () => {
    let c = setCondition(undefined, { type: 'SchemaInSync', status: 'False', reason: REASON.applyFailed, message: 'ClickHouse unreachable' }, 1, t0);
    c = setCondition(c, { type: 'ColdReady', status: 'False', reason: REASON.coldUnavailable, message: 'connection refused' }, 1, t0);
    expect(summarizeReady(c)).toMatchObject({ status: 'False', reason: 'ColdUnavailable' });
  });

  test('a table owned by another TieredTable is the reason, whatever the stores say', () => {
    let c = setCondition(undefined, { type: 'HotReady', status: 'False', reason: REASON.hotUnavailable, message: 'down' }, 1, t0);
    c = setCondition(c, { type: 'SchemaInSync', status: 'False', reason: REASON.tableOwnedElsewhere, message: 'table t is owned by TieredTable a/t' }, 1, t0);
    expect(summarizeReady(c)).toEqual({ type: CONDITION.ready, status: 'False', reason: 'TableOwnedElsewhere', message: 'SchemaInSync: table t is owned by TieredTable a/t' });
  });

  test('is True when all are True', () => {
    const c = setCondition(undefined, { type: 'HotReady', status: 'True', reason: REASON.hotTableReady, message: '' }, 1, t0);
    expect(summarizeReady(c).status).toBe('True');
  });
});
