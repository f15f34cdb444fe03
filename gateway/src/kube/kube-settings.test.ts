import { GatewayConfigError } from '../errors';
import { resolveKubeSettings, SERVICE_ACCOUNT_DIR } from './kube-settings';

const tokenMounted = (p: string) => p === `${SERVICE_ACCOUNT_DIR}/token`;
const noToken = () => false;

describe('resolveKubeSettings', () => {
  test.each<[string, NodeJS.ProcessEnv, (p: string) => boolean, unknown]>([
    ['nothing set: off', {}, tokenMounted, { mode: 'off', why: 'not in a cluster and no STRATA_GATEWAY_KUBECONFIG' }],
    ['in a pod with a token: in-cluster', { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, tokenMounted, { mode: 'in-cluster' }],
    ['in a pod without a token: off', { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, noToken, { mode: 'off', why: 'in a cluster without a ServiceAccount token mounted' }],
    ['a kubeconfig wins over in-cluster', { KUBERNETES_SERVICE_HOST: '10.0.0.1', STRATA_GATEWAY_KUBECONFIG: '/k' }, tokenMounted, { mode: 'kubeconfig', kubeconfig: '/k' }],
    ['namespace override', { STRATA_GATEWAY_KUBECONFIG: '/k', STRATA_GATEWAY_NAMESPACE: ' apps ' }, noToken, { mode: 'kubeconfig', kubeconfig: '/k', namespace: 'apps' }],
    ['switched off', { STRATA_GATEWAY_KUBERNETES: 'off', STRATA_GATEWAY_KUBECONFIG: '/k' }, tokenMounted, { mode: 'off', why: 'STRATA_GATEWAY_KUBERNETES=off' }],
  ])('%s', (_what, env, exists, expected) => {
    expect(resolveKubeSettings(env, exists)).toEqual(expected);
  });

  test('an unknown switch value is a config error naming it', () => {
    expect(() => resolveKubeSettings({ STRATA_GATEWAY_KUBERNETES: 'yes' }, noToken)).toThrow(GatewayConfigError);
    expect(() => resolveKubeSettings({ STRATA_GATEWAY_KUBERNETES: 'yes' }, noToken)).toThrow('STRATA_GATEWAY_KUBERNETES must be auto or off, got "yes"');
  });
});
