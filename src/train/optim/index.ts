/** Optimizers over Float32Array weights: SGD (momentum, Nesterov), Adam, AdamW; masks, groups, clipping. */
export { Optimizer, applyMask } from './optimizer.js';
export type { OptimizerCommonOptions, ParamSlot } from './optimizer.js';
export { Sgd } from './sgd.js';
export type { SgdOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions, AdamState } from './adam.js';
export { softThreshold, groupShrink, groupsAlong, groupNorms, l1Prox, groupLassoProx, composeProx } from './proximal.js';
export type { ProximalOp, GroupLayout } from './proximal.js';
export { globalNorm, clipByGlobalNorm } from './clip.js';
export type { Param, ParamGroup, BaseGroupOptions, GradientSource, StepInfo, StepOptimizer } from './types.js';
import { ModelpressError } from '../../core/errors.js';
import type { LrSchedule } from '../schedules.js';
import { Adam, AdamW } from './adam.js';
import { Sgd } from './sgd.js';
import type { Param, StepOptimizer } from './types.js';

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerSpec {
  name: OptimizerName;
  /** Learning rate; default 1e-3 for adam/adamw, 0.01 for sgd. */
  lr?: number;
  /** Weight decay; default 0 (adam, sgd) or 0.01 (adamw). */
  weightDecay?: number;
  /** SGD momentum; default 0.9 when created through this factory. */
  momentum?: number;
  /** SGD Nesterov momentum; default false. */
  nesterov?: boolean;
  /** Global-norm clipping threshold; default none. */
  maxGradNorm?: number;
  schedule?: LrSchedule;
}

/** Builds an optimizer by name (what the CLI and the trainer use). */
export function createOptimizer(params: readonly Param[], spec: OptimizerSpec): StepOptimizer {
  const common = { maxGradNorm: spec.maxGradNorm, schedule: spec.schedule };
  switch (spec.name) {
    case 'sgd':
      return new Sgd(params, {
        lr: spec.lr ?? 0.01,
        weightDecay: spec.weightDecay,
        momentum: spec.momentum ?? 0.9,
        nesterov: spec.nesterov,
        ...common,
      });
    case 'adam':
      return new Adam(params, { lr: spec.lr, weightDecay: spec.weightDecay, ...common });
    case 'adamw':
      return new AdamW(params, { lr: spec.lr, weightDecay: spec.weightDecay, ...common });
    default:
      throw new ModelpressError(
        'E_ARG',
        `unknown optimizer '${String((spec as { name: unknown }).name)}' (expected ${OPTIMIZER_NAMES.join(', ')})`,
      );
  }
}
