import type { TransitionTable } from '../core/lifecycle.ts';
import type { CaseState } from './store.ts';

/**
 * How a rectification case moves. Its own module with type-only imports, so the staff console
 * (web/src/types.ts) offers exactly these moves from the same table the server enforces, without
 * bundling any server code.
 */
export type CaseEvent = 'verify' | 'appeal' | 'uphold' | 'dismiss' | 'rectify' | 'explain' | 'close';

export const CASE_LIFECYCLE: TransitionTable<CaseState, CaseEvent> = [
  { from: ['open'], event: 'verify', to: 'verified' },
  { from: ['open'], event: 'appeal', to: 'appealed' },
  // The platform reviews an appeal: upheld voids the rating's case, dismissed sends it on as verified.
  { from: ['appealed'], event: 'uphold', to: 'voided' },
  { from: ['appealed'], event: 'dismiss', to: 'verified' },
  { from: ['verified'], event: 'rectify', to: 'rectified' },
  { from: ['verified'], event: 'explain', to: 'explained' },
  // A named bad rating is closed only after the return visit (100% 回访).
  { from: ['rectified', 'explained'], event: 'close', to: 'closed', when: 'visited' },
];
