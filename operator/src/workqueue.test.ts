import { WorkQueue } from './workqueue';

describe('WorkQueue', () => {
  test('a key is queued once and never handed to two workers at once', async () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100 });
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.length).toBe(2);
    const first = await q.get();
    expect(first).toBe('ns/a');
    q.add('ns/a'); // changed while being processed
    expect(await q.get()).toBe('ns/b');
    let third: string | undefined;
    void q.get().then((k) => (third = k));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined(); // ns/a is still processing
    q.done('ns/a');
    await new Promise((r) => setImmediate(r));
    expect(third).toBe('ns/a');
    q.shutdown();
  });

  test('rate-limited retries back off exponentially up to the cap, forget resets', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('k'))).toEqual([100, 200, 400, 500, 500]);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(100);
    q.shutdown();
  });

  test('shutdown releases waiting workers', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    await expect(waiting).resolves.toBeUndefined();
  });
});
