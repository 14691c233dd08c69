/**
 * Learning-rate schedules. A schedule maps the optimizer step count (0 for
 * the first update) to a factor multiplied into every parameter group's base
 * learning rate, so groups with different rates follow the same shape.
 */
import { ModelpressError } from '../core/errors.js';

/** Step index (0-based, counted in optimizer updates) -> learning-rate factor. */
export type LrSchedule = (step: number) => number;

/** Factor 1 throughout. */
export const constantLr = (): LrSchedule => () => 1;

export interface StepLrOptions {
  /** Updates between decays (>= 1). */
  stepSize: number;
  /** Multiplier per decay; default 0.1. */
  gamma?: number;
}

/** Factor gamma^floor(step / stepSize) (PyTorch StepLR). */
export function stepLr({ stepSize, gamma = 0.1 }: StepLrOptions): LrSchedule {
  if (!(stepSize >= 1)) throw new ModelpressError('E_ARG', `stepLr: stepSize must be >= 1, got ${stepSize}`);
  return (step) => gamma ** Math.floor(step / stepSize);
}

export interface CosineLrOptions {
  /** Updates over which the factor falls from 1 to minFactor (>= 1). */
  totalSteps: number;
  /** Factor reached at the end; default 0. */
  minFactor?: number;
}

/** Cosine annealing from 1 to minFactor over totalSteps, then minFactor. */
export function cosineLr({ totalSteps, minFactor = 0 }: CosineLrOptions): LrSchedule {
  if (!(totalSteps >= 1)) throw new ModelpressError('E_ARG', `cosineLr: totalSteps must be >= 1, got ${totalSteps}`);
  return (step) => {
    const t = Math.min(step, totalSteps) / totalSteps;
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/**
 * Linear warm-up over `warmupSteps` updates (factor (step+1)/warmupSteps), then
 * `after` evaluated on the steps counted from the end of warm-up.
 */
export function linearWarmup(warmupSteps: number, after: LrSchedule = constantLr()): LrSchedule {
  if (!(warmupSteps >= 0)) throw new ModelpressError('E_ARG', `linearWarmup: warmupSteps must be >= 0, got ${warmupSteps}`);
  return (step) => (step < warmupSteps ? (step + 1) / warmupSteps : after(step - warmupSteps));
}

/**
 * Parses a schedule spec as the CLI takes it, with epochs converted to updates:
 * `constant`, `cosine`, `step:<epochs>[:<gamma>]`, each optionally prefixed by
 * `warmup:<epochs>+` (epochs may be fractional).
 */
export function parseLrSchedule(spec: string, stepsPerEpoch: number, totalEpochs: number): LrSchedule {
  const s = spec.trim();
  const warm = /^warmup:([0-9.]+)\+(.*)$/.exec(s);
  if (warm) {
    const warmupSteps = Math.round(Number(warm[1]) * stepsPerEpoch);
    if (!Number.isFinite(warmupSteps)) throw new ModelpressError('E_ARG', `--lr-schedule: bad warm-up epochs in '${spec}'`);
    const rest = parseLrSchedule(warm[2]!, stepsPerEpoch, totalEpochs);
    return linearWarmup(warmupSteps, rest);
  }
  if (s === 'constant' || s === '') return constantLr();
  if (s === 'cosine') return cosineLr({ totalSteps: Math.max(1, Math.round(stepsPerEpoch * totalEpochs)) });
  const step = /^step:([0-9.]+)(?::([0-9.eE+-]+))?$/.exec(s);
  if (step) {
    const gamma = step[2] === undefined ? 0.1 : Number(step[2]);
    if (!Number.isFinite(gamma) || gamma <= 0) throw new ModelpressError('E_ARG', `--lr-schedule: bad gamma in '${spec}'`);
    return stepLr({ stepSize: Math.max(1, Math.round(Number(step[1]) * stepsPerEpoch)), gamma });
  }
  throw new ModelpressError(
    'E_ARG',
    `--lr-schedule: unknown schedule '${spec}' (expected constant, cosine, step:<epochs>[:<gamma>], optionally prefixed by warmup:<epochs>+)`,
  );
}
