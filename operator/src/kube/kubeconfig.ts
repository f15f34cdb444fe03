import { transportFromKubeConfig, type KubeTransport } from '@strata/core';

/**
 * Endpoint and credentials through @kubernetes/client-node's KubeConfig: a kubeconfig
 * file (KUBECONFIG or the path given), else the in-cluster ServiceAccount. Loaded
 * lazily: the package is an ES module, which Node 20 loads through require() but jest's
 * CommonJS runtime cannot, so modules that tests import never pull it in.
 */
export async function loadKubeTransport(kubeconfigPath?: string): Promise<KubeTransport> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return transportFromKubeConfig(kc);
}
