/**
 * Sparsity schedules as functions of the training step: one-shot, iterative
 * (k equal increments) and TF-MOT's polynomial decay
 * s_t = s_f + (s_i - s_f)(1 - (t - t0)/(T - t0))^p.
 */
import { ModelpressError } from '../core/errors.js';

/** Target sparsity at optimizer step t (0-based). */
export type SparsitySchedule = (step: number) => number;

export const SCHEDULE_NAMES = ['oneshot', 'iterative', 'polynomial'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** The final sparsity from step 0 on. */
export function oneshotSchedule(target: number): SparsitySchedule {
  return () => target;
}

/**
 * `stages` equal increments reached at steps 0, T/k, 2T/k, ...: stage i of k
 * (0-based) prunes to target x (i + 1) / k; from step `endStep` on, the target.
 */
export function iterativeSchedule(target: number, stages: number, endStep: number): SparsitySchedule {
  if (!Number.isInteger(stages) || stages < 1)
    throw new ModelpressError('E_ARG', `iterative schedule needs an integer number of steps >= 1, got ${stages}`);
  if (!(endStep >= 0)) throw new ModelpressError('E_ARG', `schedule end step must be >= 0, got ${endStep}`);
  return (step) => {
    if (step >= endStep) return target;
    const stage = Math.min(stages - 1, Math.floor((step * stages) / endStep));
    return (target * (stage + 1)) / stages;
  };
}

export interface PolynomialDecayOptions {
  /** Sparsity at beginStep; default 0. */
  initial?: number;
  /** Sparsity from endStep on. */
  final: number;
  /** Step at which pruning starts; default 0. */
  beginStep?: number;
  /** Step at which `final` is reached. */
  endStep: number;
  /** Exponent; default 3 (TF-MOT). */
  power?: number;
}

/** TF-MOT's PolynomialDecay: fast pruning early, slow near the end. */
export function polynomialSchedule(o: PolynomialDecayOptions): SparsitySchedule {
  const initial = o.initial ?? 0;
  const begin = o.beginStep ?? 0;
  const power = o.power ?? 3;
  if (!(o.endStep > begin))
    throw new ModelpressError('E_ARG', `polynomial schedule: end step ${o.endStep} must be after begin step ${begin}`);
  return (step) => {
    const t = Math.min(1, Math.max(0, (step - begin) / (o.endStep - begin)));
    return o.final + (initial - o.final) * (1 - t) ** power;
  };
}

/**
 * The schedule by name over `totalSteps` update steps: the sparsity ramp ends
 * at `rampFraction` of the steps (default 0.75) so the last part fine-tunes at
 * the final sparsity.
 */
export function makeSchedule(
  name: ScheduleName,
  target: number,
  opts: { totalSteps: number; stages?: number; rampFraction?: number },
): SparsitySchedule {
  const end = Math.max(1, Math.floor(opts.totalSteps * (opts.rampFraction ?? 0.75)));
  switch (name) {
    case 'oneshot':
      return oneshotSchedule(target);
    case 'iterative':
      return iterativeSchedule(target, opts.stages ?? 4, end);
    case 'polynomial':
      return polynomialSchedule({ final: target, endStep: end });
    default:
      throw new ModelpressError('E_ARG', `unknown schedule '${String(name)}' (expected ${SCHEDULE_NAMES.join(', ')})`);
  }
}
