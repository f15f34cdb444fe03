import type { UpServiceStarter } from './up';

/**
 * The endpoints `strata up` serves once the stores are ready, in start order.
 * (The proxy and the gateway are added here as they land.)
 */
export const UP_SERVICES: UpServiceStarter[] = [];
