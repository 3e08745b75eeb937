/** What the bundle page derives from a bundle's steps: stages, the merged form and the exempted materials. */
import type { BundleStep, FieldPlan } from './types.ts';

/** Steps grouped by when they can start: a stage's steps run in parallel once the earlier stages are done. */
export function stagesOf<S extends Pick<BundleStep, 'key' | 'dependsOn'>>(steps: readonly S[]): S[][] {
  const level = new Map<string, number>();
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const visit = (step: S, seen: Set<string>): number => {
    const known = level.get(step.key);
    if (known !== undefined) return known;
    if (seen.has(step.key)) return 0;
    seen.add(step.key);
    const deps = step.dependsOn.map((d) => byKey.get(d)).filter((d): d is S => d !== undefined);
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => visit(d, seen)));
    level.set(step.key, value);
    return value;
  };
  for (const step of steps) visit(step, new Set());
  const stages: S[][] = [];
  for (const step of steps) {
    const at = level.get(step.key) ?? 0;
    const stage = stages[at] ?? [];
    stage.push(step);
    stages[at] = stage;
  }
  return stages.filter((stage) => stage.length > 0);
}

export interface AskedField {
  name: string;
  label: string;
  /** The steps (departments) that use it. */
  steps: string[];
}

/** The one merged form: each field some step still needs from the applicant, once. */
export function askedFields(steps: readonly BundleStep[]): AskedField[] {
  const out = new Map<string, AskedField>();
  for (const step of steps)
    for (const f of step.fields) {
      if (f.provenance === 'contract') continue;
      const known = out.get(f.name);
      if (known) known.steps.push(step.name);
      else out.set(f.name, { name: f.name, label: f.label, steps: [step.name] });
    }
  return [...out.values()];
}

export interface ExemptedMaterial {
  name: string;
  label: string;
  /** Each step that gets it through shared data, with the field's plan there. */
  uses: { step: BundleStep; field: FieldPlan }[];
}

/** 免提交: fields every step needing them gets through a contract in force, so nobody asks for them. */
export function exemptedMaterials(steps: readonly BundleStep[]): ExemptedMaterial[] {
  const asked = new Set(askedFields(steps).map((f) => f.name));
  const out = new Map<string, ExemptedMaterial>();
  for (const step of steps)
    for (const field of step.fields) {
      if (field.provenance !== 'contract' || asked.has(field.name)) continue;
      const known = out.get(field.name);
      if (known) known.uses.push({ step, field });
      else out.set(field.name, { name: field.name, label: field.label, uses: [{ step, field }] });
    }
  return [...out.values()];
}
