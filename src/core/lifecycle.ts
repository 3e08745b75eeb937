import { sql } from 'kysely';
import type { Executor } from './db.ts';
import { AppError } from './errors.ts';
import type { Database } from './tables.ts';

/**
 * A lifecycle is data: a table of (from, event) → to. `nextState` is the one place that reads
 * such a table, and it refuses any transition the table does not declare with a 409.
 * `applyTransition` applies it as `UPDATE … WHERE state = from` together with the audit entry, so
 * two nodes racing on one object cannot both win and no state changes unrecorded.
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

/**
 * A stateful entity: the table holding it, the column holding its state, its transitions.
 * `applyTransition` is the one writer of that column.
 */
export interface Lifecycle<S extends string, E extends string> {
  objectType: string;
  /** A table with `id` and the state column. */
  table: keyof Database;
  column?: 'state' | 'status';
  transitions: TransitionTable<S, E>;
}

export interface TransitionChange<S extends string, E extends string> {
  id: string;
  from: S;
  to: S;
  event: E;
}

export interface TransitionOptions<S extends string, E extends string> {
  /** Facts that guarded transitions ask for (see Transition.when). */
  facts?: readonly string[];
  /** The state to judge the event from when it differs from the stored one (e.g. an active contract past its end is expired). */
  effective?: S;
  /** Other columns written with the state, as bind parameters (JSON values already stringified). */
  set?: Record<string, unknown>;
  /**
   * The audit entry, written in the same transaction after the update succeeded; `null` only for
   * entities whose transitions another entry already records (a job's outcome is its import's).
   */
  audit: ((tx: Executor, change: TransitionChange<S, E>) => Promise<unknown>) | null;
}

/**
 * Moves one entity by `event`: checks the table (409 INVALID_TRANSITION when it declares no such
 * move), then `UPDATE … SET state = to WHERE id = … AND state = <stored>` — so of two nodes racing on
 * one object exactly one wins and the other gets 409 — and appends the audit entry in the same
 * transaction. Returns the updated row.
 */
export async function applyTransition<S extends string, E extends string, R = Record<string, unknown>>(
  tx: Executor,
  lifecycle: Lifecycle<S, E>,
  row: { id: string; state: S },
  event: E,
  options: TransitionOptions<S, E>,
): Promise<R> {
  const from = options.effective ?? row.state;
  const to = nextState(lifecycle.transitions, lifecycle.objectType, from, event, options.facts);
  const column = lifecycle.column ?? 'state';
  const assignments = [
    sql`${sql.ref(column)} = ${to}`,
    ...Object.entries(options.set ?? {}).map(([name, value]) => sql`${sql.ref(name)} = ${value}`),
  ];
  const { rows } = await sql<R>`
    update ${sql.table(lifecycle.table)} set ${sql.join(assignments)}
     where id = ${row.id} and ${sql.ref(column)} = ${row.state}
    returning *`.execute(tx);
  if (rows.length === 0) {
    throw new AppError(
      'INVALID_TRANSITION',
      { objectType: lifecycle.objectType, state: from, event, reason: 'changed_concurrently' },
      {
        zh: `${lifecycle.objectType} 已被同时修改，不能执行 ${event}`,
        en: `${lifecycle.objectType} changed concurrently; cannot ${event}`,
      },
    );
  }
  await options.audit?.(tx, { id: row.id, from, to, event });
  return rows[0]!;
}
