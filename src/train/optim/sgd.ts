/** Stochastic gradient descent with momentum and Nesterov momentum (torch.optim.SGD semantics). */
import { ModelpressError } from '../../core/errors.js';
import { Optimizer, checkNonNegative, stripUndefined, type OptimizerCommonOptions, type ParamSlot } from './optimizer.js';
import type { BaseGroupOptions, Param, ParamGroup } from './types.js';

export interface SgdOptions extends BaseGroupOptions {
  /** Momentum factor; default 0 (plain SGD). */
  momentum: number;
  /** Dampening of the momentum buffer; default 0. */
  dampening: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0); default false. */
  nesterov: boolean;
}

export class Sgd extends Optimizer<SgdOptions, Float32Array> {
  constructor(
    params: readonly Param[] | readonly ParamGroup<SgdOptions>[],
    options: Partial<SgdOptions> & { lr: number } & OptimizerCommonOptions,
  ) {
    const { maxGradNorm, schedule, ...rest } = options;
    super(params, { weightDecay: 0, momentum: 0, dampening: 0, nesterov: false, ...stripUndefined(rest) }, { maxGradNorm, schedule });
  }

  protected validate(o: SgdOptions): void {
    checkNonNegative('lr', o.lr);
    checkNonNegative('weightDecay', o.weightDecay);
    checkNonNegative('momentum', o.momentum);
    checkNonNegative('dampening', o.dampening);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0))
      throw new ModelpressError('E_ARG', 'optimizer: Nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected update(slot: ParamSlot<SgdOptions, Float32Array>, grad: Float32Array, lr: number): void {
    const w = slot.param.data;
    const { weightDecay: wd, momentum, dampening, nesterov } = slot.options;
    const n = w.length;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) w[i] -= lr * (grad[i] + wd * w[i]);
      return;
    }
    const first = slot.state === undefined;
    const buf = (slot.state ??= new Float32Array(n));
    const keep = 1 - dampening;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * w[i];
      const b = first ? g : momentum * buf[i] + keep * g;
      buf[i] = b;
      w[i] -= lr * (nesterov ? g + momentum * b : b);
    }
  }
}
