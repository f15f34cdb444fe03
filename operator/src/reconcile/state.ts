import type { Client } from 'pg';
import type { Logger } from 'pino';
import type { ColdStore, Condition, ConditionType, TieredTableSpec, TieredTableStatus } from '@strata/core';
import { setCondition, type Reason } from '../conditions';
import type { ConnectionSettings, Connections } from '../connections';
import type { EventRecorder } from '../events';
import type { KubeClient } from '@strata/core';
import type { TieredTableObject } from '../kube/resources';
import type { OperatorMetrics } from '../metrics';
import type { CronJobSettings } from '../tiering-cronjob';
import type { TieringScheduler } from '../tiering-scheduler';

/** What reconcile steps are given: everything is passed in, nothing read from globals. */
export interface ReconcileDeps {
  kube: KubeClient;
  log: Logger;
  events: EventRecorder;
  connections: Connections;
  /** The operator's own connection settings, for tables without spec.connection in operatorNamespace. */
  defaultConnection?: ConnectionSettings;
  /** The release's namespace: the only one whose TieredTables may use defaultConnection. */
  operatorNamespace: string;
  tiering: TieringModeDeps;
  metrics: OperatorMetrics;
  now: () => Date;
}

export type TieringModeDeps =
  | { mode: 'cronjob'; cronJob: Omit<CronJobSettings, 'secretName'>; defaultSecretName?: string }
  | { mode: 'in-process'; scheduler: TieringScheduler };

/** The working state of one reconcile, threaded through the steps. */
export class ReconcileState {
  conditions: Condition[];
  spec?: TieredTableSpec;
  settings?: ConnectionSettings;
  hot?: Client;
  cold?: ColdStore;
  observed: Omit<TieredTableStatus, 'conditions' | 'observedGeneration'>;

  constructor(
    readonly obj: TieredTableObject,
    readonly key: string,
    private readonly now: Date,
  ) {
    const { conditions, observedGeneration: _g, ...rest } = obj.status ?? {};
    this.conditions = conditions ?? [];
    this.observed = rest;
  }

  get generation(): number {
    return this.obj.metadata.generation ?? 0;
  }

  set(type: ConditionType, status: Condition['status'], reason: Reason, message: string): void {
    this.conditions = setCondition(this.conditions, { type, status, reason, message }, this.generation, this.now);
  }
}

/** How a step ends: go on, or stop this reconcile (transient: retry with backoff; otherwise wait for a spec change). */
export type StepResult = { next: true } | { next: false; transient: boolean; error?: Error };
export const CONTINUE: StepResult = { next: true };

export interface ReconcileStep {
  name: string;
  run(deps: ReconcileDeps, state: ReconcileState): Promise<StepResult>;
}
