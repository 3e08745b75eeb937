import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { nextState, type TransitionTable } from './lifecycle.ts';

type State = 'draft' | 'submitted' | 'approved' | 'rejected';
type Event = 'submit' | 'approve' | 'reject';
const table: TransitionTable<State, Event> = [
  { from: ['draft'], event: 'submit', to: 'submitted' },
  { from: ['submitted'], event: 'approve', to: 'approved' },
  { from: ['draft', 'submitted'], event: 'reject', to: 'rejected' },
];

describe('lifecycle tables', () => {
  it('follows declared transitions', () => {
    expect(nextState(table, 'application', 'draft', 'submit')).toBe('submitted');
    expect(nextState(table, 'application', 'submitted', 'reject')).toBe('rejected');
  });

  it('refuses every undeclared transition with a 409 naming state and event', () => {
    const states: State[] = ['draft', 'submitted', 'approved', 'rejected'];
    const events: Event[] = ['submit', 'approve', 'reject'];
    for (const from of states) {
      for (const event of events) {
        const declared = table.some((t) => t.event === event && t.from.includes(from));
        if (declared) continue;
        try {
          nextState(table, 'application', from, event);
          expect.unreachable(`${from} --${event}--> should be refused`);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect((error as AppError).status).toBe(409);
          expect((error as AppError).details).toMatchObject({ state: from, event });
        }
      }
    }
  });
});
