import { AppError } from './errors.ts';

/**
 * A lifecycle is data: a table of (from, event) → to. `nextState` is the one place that reads
 * such a table, and it refuses any transition the table does not declare with a 409.
 * Stores then apply the result as `UPDATE … WHERE state = from`, so two nodes racing on one
 * object cannot both win.
 */
export interface Transition<S extends string, E extends string> {
  from: readonly S[];
  event: E;
  to: S;
  /** Taken only when the caller states this fact (e.g. an application that needs security review). */
  when?: string;
}

export type TransitionTable<S extends string, E extends string> = readonly Transition<S, E>[];

export function nextState<S extends string, E extends string>(
  table: TransitionTable<S, E>,
  objectType: string,
  from: S,
  event: E,
  facts: readonly string[] = [],
): S {
  const transition = table.find(
    (t) => t.event === event && t.from.includes(from) && (t.when === undefined || facts.includes(t.when)),
  );
  if (!transition) {
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType, state: from, event },
      {
        zh: `${objectType} 处于 ${from} 状态，不能执行 ${event}`,
        en: `${objectType} is ${from}; cannot ${event}`,
      },
    );
  }
  return transition.to;
}
