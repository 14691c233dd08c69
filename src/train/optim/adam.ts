/**
 * Adam (Kingma & Ba) with L2 weight decay added to the gradient, and AdamW
 * (Loshchilov & Hutter) with decoupled decay, both as in torch.optim.
 */
import { Optimizer, checkNonNegative, stripUndefined, type OptimizerCommonOptions, type ParamSlot } from './optimizer.js';
import { ModelpressError } from '../../core/errors.js';
import type { BaseGroupOptions, Param, ParamGroup } from './types.js';

export interface AdamOptions extends BaseGroupOptions {
  /** Decay of the first moment; default 0.9. */
  beta1: number;
  /** Decay of the second moment; default 0.999. */
  beta2: number;
  /** Added to the root of the second moment; default 1e-8. */
  eps: number;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
}

type AdamCtorOptions = Partial<AdamOptions> & { lr?: number } & OptimizerCommonOptions;

abstract class AdamBase extends Optimizer<AdamOptions, AdamState> {
  protected abstract readonly decoupled: boolean;

  constructor(params: readonly Param[] | readonly ParamGroup<AdamOptions>[], options: AdamCtorOptions, defaultWeightDecay: number) {
    const { maxGradNorm, schedule, ...rest } = options;
    super(
      params,
      { lr: 1e-3, weightDecay: defaultWeightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...stripUndefined(rest) },
      { maxGradNorm, schedule },
    );
  }

  protected validate(o: AdamOptions): void {
    checkNonNegative('lr', o.lr);
    checkNonNegative('weightDecay', o.weightDecay);
    checkNonNegative('eps', o.eps);
    for (const [k, b] of [
      ['beta1', o.beta1],
      ['beta2', o.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new ModelpressError('E_ARG', `optimizer: ${k} must be in [0, 1), got ${b}`);
    }
  }

  protected update(slot: ParamSlot<AdamOptions, AdamState>, grad: Float32Array, lr: number, t: number): void {
    const w = slot.param.data;
    const n = w.length;
    const { beta1, beta2, eps, weightDecay: wd } = slot.options;
    const state = (slot.state ??= { m: new Float32Array(n), v: new Float32Array(n) });
    const { m, v } = state;
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    const stepSize = lr / bc1;
    const invRootBc2 = 1 / Math.sqrt(bc2);
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    if (wd === 0) {
      // The common case, kept free of decay terms.
      for (let i = 0; i < n; i++) {
        const g = grad[i];
        const mi = beta1 * m[i] + c1 * g;
        const vi = beta2 * v[i] + c2 * g * g;
        m[i] = mi;
        v[i] = vi;
        w[i] -= (stepSize * mi) / (Math.sqrt(vi) * invRootBc2 + eps);
      }
      return;
    }
    const l2 = this.decoupled ? 0 : wd;
    const shrink = this.decoupled ? 1 - lr * wd : 1;
    for (let i = 0; i < n; i++) {
      const wi = w[i];
      const g = grad[i] + l2 * wi;
      const mi = beta1 * m[i] + c1 * g;
      const vi = beta2 * v[i] + c2 * g * g;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi * shrink - (stepSize * mi) / (Math.sqrt(vi) * invRootBc2 + eps);
    }
  }
}

/** Adam; `weightDecay` (default 0) is L2 added to the gradient. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: readonly Param[] | readonly ParamGroup<AdamOptions>[], options: AdamCtorOptions = {}) {
    super(params, options, 0);
  }
}

/** AdamW; `weightDecay` (default 0.01) shrinks weights by lr*wd before the Adam step, outside the moments. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: readonly Param[] | readonly ParamGroup<AdamOptions>[], options: AdamCtorOptions = {}) {
    super(params, options, 0.01);
  }
}
