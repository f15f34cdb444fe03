import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { SERVICE_ACCOUNT_DIR, type KubeSettings } from './kube-settings';

/** Where the API server is, who the gateway is to it, and the namespace its TieredTables go to. */
export interface KubeAccess {
  server: string;
  namespace: string;
  /** Adds credentials (TLS agent, Authorization header) to a request's options. */
  authorize(opts: RequestOptions): Promise<void>;
}

/**
 * Endpoint and credentials through @kubernetes/client-node's KubeConfig (kubeconfig
 * files with certificates, tokens or exec plugins; the in-cluster ServiceAccount token,
 * re-read as it rotates). Loaded lazily, as the operator does: the package is an ES
 * module, which Node 20 loads through require() but jest's CommonJS runtime cannot, so
 * modules that tests import never pull it in (tests build a KubeAccess from the test
 * API server's certificates instead).
 */
export async function loadKubeAccess(settings: Exclude<KubeSettings, { mode: 'off' }>): Promise<KubeAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  let namespace = settings.namespace;
  if (settings.mode === 'in-cluster') {
    kc.loadFromCluster();
    namespace ??= readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
  } else {
    kc.loadFromFile(settings.kubeconfig);
    namespace ??= kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  let agent: RequestOptions['agent'];
  return {
    server: cluster.server,
    namespace,
    async authorize(opts) {
      const applied: RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(applied);
      // One TLS agent for the process: keep-alive connections instead of a handshake per call.
      agent ??= applied.agent;
      opts.agent = agent;
      opts.headers = { ...(opts.headers as Record<string, string>), ...(applied.headers as Record<string, string>) };
    },
  };
}
