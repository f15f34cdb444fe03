import pino from 'pino';
import type { KubeClient } from '@strata/core';
import { LeaderElector, microTime } from './leader-election';

test('microTime has the six fractional digits metav1.MicroTime parses', () => {
  expect(microTime(new Date('2026-11-26T01:02:03.456Z'))).toBe('2026-11-26T01:02:03.456000Z');
});

describe('a leader that cannot renew', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  // The API server answers the first acquire, fails the next read at once, then stops
  // answering. The leader must step down renewDeadline after its last renewal was sent,
  // not renewDeadline after the hanging request began: a standby takes over leaseDuration
  // after that renewal, and two leaders must never overlap.
  test('steps down renewDeadline after its last renewal was sent, whatever its requests do', async () => {
    let reads = 0;
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' }, spec: {} };
    const kube = {
      get: async () => {
        reads += 1;
        if (reads === 1) return lease;
        if (reads === 2) throw new Error('connection reset');
        return new Promise(() => undefined);
      },
      replace: async (_path: string, body: typeof lease) => ({ ...body, metadata: { ...body.metadata, resourceVersion: '2' } }),
    } as unknown as KubeClient;
    const events: string[] = [];
    const elector = new LeaderElector(
      kube,
      { namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 1.5, renewDeadlineMs: 1000, retryPeriodMs: 200 },
      { onStartedLeading: () => events.push(`lead@${Date.now() - t0}`), onStoppedLeading: () => events.push(`stop@${Date.now() - t0}`) },
      pino({ level: 'silent' }),
    );
    const t0 = Date.now();
    elector.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['lead@0']);
    // The failed read at 200 ms and the hanging one from 400 ms keep it leading until 1000 ms.
    await jest.advanceTimersByTimeAsync(999);
    expect(elector.isLeader).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['lead@0', 'stop@1000']);
    expect(elector.isLeader).toBe(false);
    expect(reads).toBe(3);
    await elector.stop();
  });
});
