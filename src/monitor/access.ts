import type { AccessRule } from '../core/auth.ts';
import type { Role } from '../core/tables.ts';

/** Who reads monitoring (alerts, freezes, rules) and who acts on it. */
const READERS: Role[] = ['security_officer', 'platform_admin', 'auditor'];
export const ACTORS: Role[] = ['security_officer', 'platform_admin'];
export const MONITOR_READ: AccessRule = { roles: READERS, scope: 'monitor' };
export const MONITOR_ACT: AccessRule = { roles: ACTORS, scope: 'monitor' };
