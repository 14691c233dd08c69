/**
 * Deterministic train/test/calibration splits: the same seed always selects
 * the same samples, so a quantizer calibrated on `calibration` and evaluated
 * on `test` never sees a test sample.
 */
import { ModelpressError } from '../core/errors.js';
import { mulberry32, permutation } from '../core/random.js';

export type SplitName = 'train' | 'test' | 'calibration' | 'all';

export interface SplitOptions {
  /** Seed of the permutation; default 0. */
  seed?: number;
  /** Fraction of samples held out as the test split; default 0.2. */
  testFraction?: number;
  /** Samples in the calibration split (drawn from the train split); default 512. */
  calibrationSize?: number;
}

/**
 * Indices (sorted ascending) of `split` among `count` samples: a seeded
 * permutation whose last `testFraction` is test, the rest train, and whose
 * first `calibrationSize` train samples are calibration.
 */
export function splitIndices(count: number, split: SplitName, options: SplitOptions = {}): Uint32Array {
  if (split === 'all') return Uint32Array.from({ length: count }, (_, i) => i);
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new ModelpressError('E_ARG', `test fraction must be in [0, 1], got ${testFraction}`);
  const perm = permutation(count, mulberry32(options.seed ?? 0));
  const testCount = Math.round(count * testFraction);
  const trainCount = count - testCount;
  let picked: Uint32Array;
  if (split === 'test') picked = perm.slice(trainCount);
  else if (split === 'train') picked = perm.slice(0, trainCount);
  else picked = perm.slice(0, Math.min(trainCount, options.calibrationSize ?? 512));
  return picked.sort();
}

/** A seeded calibration subset of an official train split (Fashion-MNIST's 60k, say). */
export function calibrationIndices(trainCount: number, options: { seed?: number; calibrationSize?: number } = {}): Uint32Array {
  return splitIndices(trainCount, 'calibration', { ...options, testFraction: 0 });
}
