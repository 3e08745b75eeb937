import type { TransitionTable } from '../core/lifecycle.ts';
import type { StepState } from './store.ts';

/**
 * How an application's step moves. Its own module with type-only imports, so the staff console
 * (web/src/types.ts) offers exactly these moves from the same table the server enforces, without
 * bundling any server code.
 */
export type StepEvent = 'release' | 'accept' | 'start' | 'complete' | 'return' | 'resubmit' | 'refuse';

/** A waiting step has no move but `release`: nothing starts before its inputs are done. */
export const STEP_LIFECYCLE: TransitionTable<StepState, StepEvent> = [
  { from: ['waiting'], event: 'release', to: 'submitted' },
  { from: ['submitted'], event: 'accept', to: 'accepted' },
  { from: ['accepted'], event: 'start', to: 'in_progress' },
  { from: ['in_progress'], event: 'complete', to: 'done' },
  { from: ['submitted', 'accepted', 'in_progress'], event: 'return', to: 'returned' },
  { from: ['returned'], event: 'resubmit', to: 'submitted' },
  { from: ['submitted', 'accepted', 'in_progress'], event: 'refuse', to: 'refused' },
];
