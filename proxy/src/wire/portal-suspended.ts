import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

/** PortalSuspended: Execute stopped at its row limit. */
export const PORTAL_SUSPENDED = constantFrame(Backend.portalSuspended);
