/**
 * Data grades (GB/T 43697-2024 levels, with general data refined into four levels as in the
 * standard's informative annex). Ids are Shutong's; see REFERENCE.md §1.
 */
export const GRADES = ['core', 'important', 'g4', 'g3', 'g2', 'g1', 'unassessed'] as const;
export type Grade = (typeof GRADES)[number];

export const GRADE_NAMES: Readonly<Record<Grade, { zh: string; en: string }>> = {
  core: { zh: '核心数据', en: 'core data' },
  important: { zh: '重要数据', en: 'important data' },
  g4: { zh: '一般数据4级', en: 'general data, level 4' },
  g3: { zh: '一般数据3级', en: 'general data, level 3' },
  g2: { zh: '一般数据2级', en: 'general data, level 2' },
  g1: { zh: '一般数据1级', en: 'general data, level 1' },
  unassessed: { zh: '未定级', en: 'not yet graded' },
};

// Unassessed data is handled as g3 until someone grades it.
const RANK: Readonly<Record<Grade, number>> = {
  core: 6,
  important: 5,
  g4: 4,
  g3: 3,
  unassessed: 3,
  g2: 2,
  g1: 1,
};

export function isGrade(value: unknown): value is Grade {
  return typeof value === 'string' && (GRADES as readonly string[]).includes(value);
}

/** Numeric sensitivity, higher is more sensitive; unassessed ranks with g3. */
export function gradeRank(grade: Grade): number {
  return RANK[grade];
}

/** The grade access rules apply: unassessed becomes g3, everything else is itself. */
export function effectiveGrade(grade: Grade): Exclude<Grade, 'unassessed'> {
  return grade === 'unassessed' ? 'g3' : grade;
}

/** Sorts most sensitive first: negative when `a` is more sensitive than `b`. */
export function compareGrades(a: Grade, b: Grade): number {
  return RANK[b] - RANK[a] || (a === b ? 0 : a === 'unassessed' ? 1 : b === 'unassessed' ? -1 : 0);
}

/**
 * The most sensitive of the grades ("grade up when in doubt"). Between g3 and unassessed,
 * which rank the same, the assessed g3 wins: someone has looked at it. With no grades at all
 * the answer is unassessed.
 */
export function highestGrade(...grades: readonly Grade[]): Grade {
  let best: Grade = 'unassessed';
  let seen = false;
  for (const g of grades) {
    if (!seen || RANK[g] > RANK[best] || (RANK[g] === RANK[best] && best === 'unassessed')) best = g;
    seen = true;
  }
  return best;
}
