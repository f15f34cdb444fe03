import { DecompressionSlots } from './decompression-slots';

const tick = () => new Promise((r) => setImmediate(r));

describe('DecompressionSlots', () => {
  test('at most max at once; waiters are served in order as slots free', async () => {
    const slots = new DecompressionSlots(2, 10_000);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((r) => (order.push('c'), r));
    const d = slots.acquire().then((r) => (order.push('d'), r));
    await tick();
    expect(order).toEqual([]);
    expect(slots.inUse).toBe(2);
    a();
    a(); // releasing twice frees one slot only
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect(slots.inUse).toBe(0);
  });

  test('a waiter that gets no slot in time is refused with 503; one with waitMs 0 at once', async () => {
    const slots = new DecompressionSlots(1, 20);
    const held = await slots.acquire();
    await expect(slots.acquire()).rejects.toMatchObject({ statusCode: 503, code: 'DECOMPRESSION_BUSY' });
    const none = new DecompressionSlots(1, 0);
    await none.acquire();
    await expect(none.acquire()).rejects.toMatchObject({ statusCode: 503 });
    held();
    expect(slots.inUse).toBe(0);
    await expect(slots.run(async () => 'done')).resolves.toBe('done');
    expect(slots.inUse).toBe(0);
  });
});
