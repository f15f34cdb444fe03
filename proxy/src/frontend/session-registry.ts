import { randomInt } from 'node:crypto';

/** What a CancelRequest can reach: the session that handed out the key. */
export interface Cancellable {
  readonly key: { processId: number; secretKey: number };
  cancel(): void;
}

/**
 * Sessions by the BackendKeyData the proxy gave them. Keys are the proxy's own (random
 * process ids and secrets), never PostgreSQL's, so a client can only cancel its own
 * session's query, on whichever server runs it at the time.
 */
export class SessionRegistry<S extends Cancellable = Cancellable> {
  private readonly sessions = new Map<number, S>();

  newKey(): { processId: number; secretKey: number } {
    for (;;) {
      const processId = randomInt(1, 0x7fffffff);
      if (!this.sessions.has(processId)) return { processId, secretKey: randomInt(-0x80000000, 0x7fffffff) };
    }
  }

  add(session: S): void {
    this.sessions.set(session.key.processId, session);
  }

  delete(session: S): void {
    if (this.sessions.get(session.key.processId) === session) this.sessions.delete(session.key.processId);
  }

  /** True when the key matched a session (which then cancels what it runs). */
  cancel(processId: number, secretKey: number): boolean {
    const session = this.sessions.get(processId);
    if (!session || session.key.secretKey !== secretKey) return false;
    session.cancel();
    return true;
  }

  all(): S[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
