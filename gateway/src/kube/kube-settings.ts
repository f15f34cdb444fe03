import { GatewayConfigError } from '../errors';

/**
 * Whether and how the gateway reaches the Kubernetes API to keep a TieredTable for every
 * table it registers or evolves. Pure: main.ts passes the environment and a file check.
 *   STRATA_GATEWAY_KUBERNETES   auto (default) | off
 *   STRATA_GATEWAY_KUBECONFIG   a kubeconfig file: use it (outside a cluster, or to override)
 *   KUBERNETES_SERVICE_HOST     set in every pod: in-cluster, if a ServiceAccount token is mounted
 *   STRATA_GATEWAY_NAMESPACE    namespace of the TieredTables; default the pod's own
 *                               namespace, else the kubeconfig context's, else default
 */

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeSettings =
  | { mode: 'off'; why: string }
  | { mode: 'kubeconfig'; kubeconfig: string; namespace?: string }
  | { mode: 'in-cluster'; namespace?: string };

export function resolveKubeSettings(env: NodeJS.ProcessEnv, fileExists: (path: string) => boolean): KubeSettings {
  const switchValue = (env.STRATA_GATEWAY_KUBERNETES ?? 'auto').trim().toLowerCase();
  if (switchValue !== 'auto' && switchValue !== 'off' && switchValue !== '') {
    throw new GatewayConfigError(`STRATA_GATEWAY_KUBERNETES must be auto or off, got ${JSON.stringify(env.STRATA_GATEWAY_KUBERNETES)}`);
  }
  if (switchValue === 'off') return { mode: 'off', why: 'STRATA_GATEWAY_KUBERNETES=off' };
  const namespace = env.STRATA_GATEWAY_NAMESPACE?.trim() || undefined;
  if (env.STRATA_GATEWAY_KUBECONFIG) return { mode: 'kubeconfig', kubeconfig: env.STRATA_GATEWAY_KUBECONFIG, namespace };
  if (!env.KUBERNETES_SERVICE_HOST) return { mode: 'off', why: 'not in a cluster and no STRATA_GATEWAY_KUBECONFIG' };
  // The chart mounts a token only when the gateway is granted TieredTable access.
  if (!fileExists(`${SERVICE_ACCOUNT_DIR}/token`)) return { mode: 'off', why: 'in a cluster without a ServiceAccount token mounted' };
  return { mode: 'in-cluster', namespace };
}
