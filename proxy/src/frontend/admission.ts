import type { Counter } from 'prom-client';

/**
 * The largest message a client may send before it has logged in: PostgreSQL's
 * PG_MAX_AUTH_TOKEN_LENGTH, its limit for password and SASL messages (startup packets
 * have their own, MAX_STARTUP_PACKET). The configured maximum applies only after login,
 * so a client that holds no credentials cannot make the proxy buffer 64 MiB.
 */
export const MAX_AUTH_MESSAGE_SIZE = 65535;

/** Why a client was ended before login (the `reason` label of strata_proxy_clients_refused_total). */
export const Refusal = { maxClients: 'max_clients', authTimeout: 'auth_timeout' } as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

/** One connection's place in the proxy, from accept until its session ends. */
export interface Ticket {
  /** False: past STRATA_PROXY_MAX_CLIENTS; the session answers 53300 to its startup packet. */
  readonly admitted: boolean;
  /** Ends the session with `onTimeout` unless loggedIn() or leave() comes first. */
  startAuthTimer(ms: number, onTimeout: () => void): void;
  loggedIn(): void;
  /** Frees the slot; idempotent. */
  leave(): void;
}

/**
 * Who gets in (as PostgreSQL's max_connections and PgBouncer's max_client_conn): every
 * open connection, logged in or not, holds one of `maxClients` slots. Past that a
 * connection is still read up to its startup packet, so the client learns why (53300,
 * as PostgreSQL answers after the startup packet), but at most `maxClients` such refusals
 * are pending at once; beyond them a connection is closed at accept without a word, as
 * PostgreSQL does when even its dead-end backends are used up.
 */
export class Admission {
  private admitted = 0;
  private refusing = 0;

  constructor(
    readonly maxClients: number,
    private readonly refused: Counter<'reason'>,
  ) {}

  /** Null: close the socket now. */
  arrive(): Ticket | null {
    const admitted = this.admitted < this.maxClients;
    if (!admitted) {
      this.refused.inc({ reason: Refusal.maxClients });
      if (this.refusing >= this.maxClients) return null;
    }
    if (admitted) this.admitted++;
    else this.refusing++;
    let timer: NodeJS.Timeout | null = null;
    let left = false;
    const stopTimer = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    return {
      admitted,
      startAuthTimer(ms, onTimeout) {
        stopTimer();
        timer = setTimeout(onTimeout, ms);
        timer.unref();
      },
      loggedIn: stopTimer,
      leave: () => {
        stopTimer();
        if (left) return;
        left = true;
        if (admitted) this.admitted--;
        else this.refusing--;
      },
    };
  }
}
