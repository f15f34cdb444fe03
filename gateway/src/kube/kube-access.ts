import { readFileSync } from 'node:fs';
import { transportFromKubeConfig, type KubeTransport } from '@strata/core';
import { SERVICE_ACCOUNT_DIR, type KubeSettings } from './kube-settings';

/** Where the API server is, who the gateway is to it, and the namespace its TieredTables go to. */
export interface KubeAccess extends KubeTransport {
  namespace: string;
}

/**
 * Endpoint and credentials through @kubernetes/client-node's KubeConfig (kubeconfig
 * files with certificates, tokens or exec plugins; the in-cluster ServiceAccount token,
 * re-read as it rotates), with core's transportFromKubeConfig as the operator has it.
 * Loaded lazily, as the operator does: the package is an ES
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
  return { ...transportFromKubeConfig(kc), namespace };
}
