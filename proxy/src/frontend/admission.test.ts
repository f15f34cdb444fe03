import { Counter, Registry } from 'prom-client';
import { Admission } from './admission';

function admission(maxClients: number): { admission: Admission; refused: () => Promise<number> } {
  const counter = new Counter({ name: 'refused', help: 'refused', labelNames: ['reason'], registers: [new Registry()] });
  return { admission: new Admission(maxClients, counter), refused: async () => (await counter.get()).values.reduce((n, v) => n + v.value, 0) };
}

describe('Admission', () => {
  it('admits up to the limit, refuses as many again, then closes at once; a leaving client frees its slot', async () => {
    const { admission: a, refused } = admission(2);
    const tickets = [a.arrive(), a.arrive(), a.arrive(), a.arrive(), a.arrive()];
    expect(tickets.map((t) => (t ? t.admitted : null))).toEqual([true, true, false, false, null]);
    expect(await refused()).toBe(3);

    tickets[0]!.leave();
    tickets[0]!.leave();
    expect(a.arrive()?.admitted).toBe(true);
    expect(a.arrive()).toBeNull();
    tickets[2]!.leave();
    expect(a.arrive()?.admitted).toBe(false);
  });

  it('fires the auth timer unless the client logs in or leaves first', async () => {
    const { admission: a } = admission(10);
    const fired: string[] = [];
    const [late, loggedIn, gone] = [a.arrive()!, a.arrive()!, a.arrive()!];
    late.startAuthTimer(5, () => fired.push('late'));
    loggedIn.startAuthTimer(5, () => fired.push('loggedIn'));
    gone.startAuthTimer(5, () => fired.push('gone'));
    loggedIn.loggedIn();
    gone.leave();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toEqual(['late']);
  });
});
