import type { Logger } from 'pino';
import { isConflict, isNotFound, isAlreadyExists } from './errors';
import type { KubeClient } from '@strata/core';
import { leasePath, leasesPath, type ObjectMeta } from './kube/resources';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does
 * it: every write carries the resourceVersion read (so two candidates cannot both win),
 * a lease is taken over only after it has gone unrenewed for leaseDuration *as observed
 * locally* (no trust in other machines' clocks), and a leader that cannot renew within
 * renewDeadline steps down. Stepping down is final for this elector: the process is
 * expected to exit and restart, so no work runs under a lost lease.
 */

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: ObjectMeta;
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime: exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Fires renewDeadline after the last successful renewal was sent: the leader steps down. */
  private deadline: NodeJS.Timeout | undefined;
  /** The last record seen and when it changed, by the local clock. */
  private observed: { rv: string; at: number } | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly cfg: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops trying; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.kube.get<LeaseObject>(leasePath(this.cfg.namespace, this.cfg.name));
      if (lease.spec.holderIdentity === this.cfg.identity) {
        await this.kube.replace(leasePath(this.cfg.namespace, this.cfg.name), {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
        });
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.cfg.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    const sent = Date.now();
    try {
      // A request that hangs (a stalled connection, a busy API server) must not keep a
      // leader believing it leads past its lease: the deadline timer below steps down, as
      // client-go does, before a standby can take over; the timeout only frees the loop.
      const ok = await withTimeout(this.tryAcquireOrRenew(), this.cfg.renewDeadlineMs, 'lease request timed out');
      if (this.stopped) return;
      if (ok) {
        this.armDeadline(sent);
        if (!this.leading) {
          this.leading = true;
          this.log.info({ lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.cfg.identity }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading) this.stepDown('lease taken by another candidate');
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: (err as Error).message }, 'leader election: lease update failed');
    }
    this.schedule();
  }

  /**
   * A standby takes over once it has seen the lease unchanged for leaseDuration, counted
   * from no earlier than this renewal was sent. So the leader's deadline counts from the
   * send too, and is a timer of its own: checked only when a tick ends, a quick failure
   * followed by a hanging request would have kept it leading up to a retry period plus
   * a whole renewDeadline past its last renewal, beyond leaseDuration.
   */
  private armDeadline(sent: number): void {
    clearTimeout(this.deadline);
    const left = sent + this.cfg.renewDeadlineMs - Date.now();
    this.deadline = setTimeout(() => {
      if (this.leading) this.stepDown('could not renew within renewDeadline');
    }, Math.max(left, 0));
  }

  private stepDown(why: string): void {
    this.leading = false;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    this.log.warn({ why }, 'lost leadership');
    this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const path = leasePath(this.cfg.namespace, this.cfg.name);
    let lease: LeaseObject;
    try {
      lease = await this.kube.get<LeaseObject>(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.kube.create(leasesPath(this.cfg.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.cfg.name, namespace: this.cfg.namespace },
          spec: {
            holderIdentity: this.cfg.identity,
            leaseDurationSeconds: this.cfg.leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        } satisfies LeaseObject);
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const rv = lease.metadata.resourceVersion ?? '';
    if (!this.observed || this.observed.rv !== rv) this.observed = { rv, at: Date.now() };
    const holder = lease.spec.holderIdentity ?? '';
    const duration = (lease.spec.leaseDurationSeconds ?? this.cfg.leaseDurationSeconds) * 1000;
    const mine = holder === this.cfg.identity;
    if (!mine && holder !== '' && Date.now() < this.observed.at + duration) return false;
    const spec: LeaseObject['spec'] = mine
      ? { ...lease.spec, renewTime: microTime(now), leaseDurationSeconds: this.cfg.leaseDurationSeconds }
      : {
          holderIdentity: this.cfg.identity,
          leaseDurationSeconds: this.cfg.leaseDurationSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1,
        };
    try {
      const updated = await this.kube.replace<LeaseObject>(path, { ...lease, spec });
      this.observed = { rv: updated.metadata.resourceVersion ?? '', at: Date.now() };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
