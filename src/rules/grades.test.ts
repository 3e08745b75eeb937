import { describe, expect, it } from 'vitest';
import { compareGrades, effectiveGrade, GRADES, gradeRank, highestGrade, isGrade } from './grades.ts';

describe('grades', () => {
  it('orders grades from core down, with unassessed as g3', () => {
    expect(gradeRank('core')).toBeGreaterThan(gradeRank('important'));
    expect(gradeRank('important')).toBeGreaterThan(gradeRank('g4'));
    expect(gradeRank('g4')).toBeGreaterThan(gradeRank('g3'));
    expect(gradeRank('unassessed')).toBe(gradeRank('g3'));
    expect(gradeRank('g2')).toBeGreaterThan(gradeRank('g1'));
    expect(effectiveGrade('unassessed')).toBe('g3');
    expect(effectiveGrade('g4')).toBe('g4');
    expect([...GRADES].sort(compareGrades)).toEqual([
      'core',
      'important',
      'g4',
      'g3',
      'unassessed',
      'g2',
      'g1',
    ]);
  });

  it('takes the highest grade', () => {
    expect(highestGrade('g1', 'g4', 'g2')).toBe('g4');
    expect(highestGrade('unassessed', 'g2')).toBe('unassessed');
    expect(highestGrade('unassessed', 'g3')).toBe('g3');
    expect(highestGrade('g3', 'unassessed')).toBe('g3');
    expect(highestGrade('important', 'core')).toBe('core');
    expect(highestGrade()).toBe('unassessed');
    expect(highestGrade('g1')).toBe('g1');
  });

  it('recognises grade ids', () => {
    expect(isGrade('g3')).toBe(true);
    expect(isGrade('g5')).toBe(false);
    expect(isGrade(3)).toBe(false);
  });
});
