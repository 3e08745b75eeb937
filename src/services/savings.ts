import type { StepDefinition } from './store.ts';

/**
 * What a bundle saves the citizen, computed from its declared steps and the contracts in force —
 * never typed by hand. Pure: the service gives it the contract lookup.
 *
 * - separately: applying to each department on its own, the citizen fills every step's fields
 *   (`separateFields`) and visits every department's counter (`departments`);
 * - in the bundle: one merged form asks each distinct field once (`mergedFields`), and not at all
 *   when every step needing it gets it through a contract (`exemptedFields`, 免提交);
 *   one window replaces the departments' counters (`countersAvoided = departments − 1`);
 * - time: steps without a dependency between them run in parallel, so the bundle takes the
 *   longest dependency chain (`bundleWorkingDays`), not the sum (`sequentialWorkingDays`).
 */
export type CoveringContract = (step: StepDefinition, field: string) => string | null;

export interface FieldPlan {
  name: string;
  label: string;
  /** `contract`: pre-filled through the contract named; `no_contract`: a source is declared but no contract covers it; `asked`: no source declared. */
  provenance: 'contract' | 'no_contract' | 'asked';
  contractId: string | null;
}

export interface StepPlan {
  key: string;
  name: string;
  orgId: string;
  dependsOn: string[];
  workingDays: number;
  fields: FieldPlan[];
}

export interface Savings {
  steps: number;
  departments: number;
  separateFields: number;
  mergedFields: number;
  exemptedFields: number;
  askedFields: number;
  /** separateFields − askedFields: entries the citizen no longer makes. */
  fieldsNotAsked: number;
  /** (step, field) pairs a department gets through a contract: materials not submitted. */
  materialsExempted: number;
  countersAvoided: number;
  sequentialWorkingDays: number;
  bundleWorkingDays: number;
}

export function planSteps(steps: readonly StepDefinition[], covering: CoveringContract): StepPlan[] {
  return steps.map((step) => ({
    key: step.key,
    name: step.name,
    orgId: step.orgId,
    dependsOn: step.dependsOn,
    workingDays: step.workingDays,
    fields: step.fields.map((f) => {
      const contractId = f.source ? covering(step, f.name) : null;
      return {
        name: f.name,
        label: f.label,
        provenance: contractId ? 'contract' : f.source ? 'no_contract' : 'asked',
        contractId,
      };
    }),
  }));
}

/** Steps in an order where every step comes after its inputs; null when the dependencies form a cycle. */
export function topologicalOrder(
  steps: readonly Pick<StepDefinition, 'key' | 'dependsOn'>[],
): string[] | null {
  const order: string[] = [];
  const placed = new Set<string>();
  let remaining = [...steps];
  while (remaining.length > 0) {
    const ready = remaining.filter((s) => s.dependsOn.every((d) => placed.has(d)));
    if (ready.length === 0) return null;
    for (const s of ready) {
      order.push(s.key);
      placed.add(s.key);
    }
    remaining = remaining.filter((s) => !placed.has(s.key));
  }
  return order;
}

/** The longest chain of working days through the dependency graph (the steps must be acyclic). */
export function criticalPath(
  steps: readonly Pick<StepDefinition, 'key' | 'dependsOn' | 'workingDays'>[],
): number {
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const finish = new Map<string, number>();
  for (const key of topologicalOrder(steps) ?? []) {
    const s = byKey.get(key)!;
    finish.set(key, s.workingDays + Math.max(0, ...s.dependsOn.map((d) => finish.get(d) ?? 0)));
  }
  return Math.max(0, ...finish.values());
}

export function savingsOf(plan: readonly StepPlan[]): Savings {
  const pairs = plan.flatMap((s) => s.fields);
  const byName = new Map<string, FieldPlan[]>();
  for (const f of pairs) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const exemptedFields = [...byName.values()].filter((uses) =>
    uses.every((u) => u.provenance === 'contract'),
  ).length;
  const askedFields = byName.size - exemptedFields;
  const departments = new Set(plan.map((s) => s.orgId)).size;
  return {
    steps: plan.length,
    departments,
    separateFields: pairs.length,
    mergedFields: byName.size,
    exemptedFields,
    askedFields,
    fieldsNotAsked: pairs.length - askedFields,
    materialsExempted: pairs.filter((f) => f.provenance === 'contract').length,
    countersAvoided: Math.max(0, departments - 1),
    sequentialWorkingDays: plan.reduce((sum, s) => sum + s.workingDays, 0),
    bundleWorkingDays: criticalPath(plan),
  };
}
