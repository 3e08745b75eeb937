/** Differential privacy as a library: exact samplers, zCDP accounting, contribution bounding. */
export * from './accounting.ts';
export * from './mechanism.ts';
export * from './rational.ts';
export * from './sampler.ts';
