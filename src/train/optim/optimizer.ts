/**
 * The optimizer skeleton shared by SGD, Adam and AdamW: parameter groups,
 * per-parameter masks that hold chosen weights at exactly zero, global-norm
 * clipping and a learning-rate schedule. Subclasses implement one update of
 * one tensor.
 */
import { ModelpressError } from '../../core/errors.js';
import type { LrSchedule } from '../schedules.js';
import { clipByGlobalNorm } from './clip.js';
import type { ProximalOp } from './proximal.js';
import type { BaseGroupOptions, GradientSource, Param, ParamGroup, StepInfo, StepOptimizer } from './types.js';

export interface OptimizerCommonOptions {
  /** Clip gradients to this global L2 norm before the update; default: no clipping. */
  maxGradNorm?: number;
  /** Learning-rate factor per step; default constant 1. */
  schedule?: LrSchedule;
}

/** A parameter as the optimizer holds it: its group's options, its mask and its state. */
export interface ParamSlot<O, S> {
  readonly param: Param;
  readonly options: O;
  /** 1 keeps the weight trainable, 0 holds it at exactly zero. */
  mask: Uint8Array | undefined;
  /** Optimizer state (moments); created on first update. */
  state: S | undefined;
  /** Proximal step of a penalty, applied after each update at that update's learning rate (before the mask). */
  prox: ProximalOp | undefined;
}

export abstract class Optimizer<O extends BaseGroupOptions, S> implements StepOptimizer {
  readonly slots: ParamSlot<O, S>[] = [];
  /** Number of updates applied so far. */
  stepCount = 0;
  maxGradNorm: number | undefined;
  schedule: LrSchedule | undefined;
  private readonly byName = new Map<string, ParamSlot<O, S>>();

  protected constructor(params: readonly Param[] | readonly ParamGroup<O>[], defaults: O, common: OptimizerCommonOptions) {
    this.maxGradNorm = common.maxGradNorm;
    this.schedule = common.schedule;
    const groups: ParamGroup<O>[] = isGroupList(params) ? [...params] : [{ params: params as readonly Param[] } as ParamGroup<O>];
    for (const group of groups) {
      const { params: groupParams, ...overrides } = group;
      const options = { ...defaults, ...stripUndefined(overrides) } as O;
      this.validate(options);
      for (const param of groupParams) {
        if (this.byName.has(param.name))
          throw new ModelpressError('E_ARG', `optimizer: parameter '${param.name}' appears in more than one group`);
        const slot: ParamSlot<O, S> = { param, options, mask: undefined, state: undefined, prox: undefined };
        this.slots.push(slot);
        this.byName.set(param.name, slot);
      }
    }
  }

  /** Throws E_ARG for options out of range. */
  protected abstract validate(options: O): void;

  /** Applies one update to `slot.param.data` from `grad` at learning rate `lr` (step count t >= 1). */
  protected abstract update(slot: ParamSlot<O, S>, grad: Float32Array, lr: number, t: number): void;

  /**
   * Sets (or with `undefined`, clears) the mask of parameter `name`: entries
   * 0 are zeroed now and stay exactly zero through every later step.
   */
  setMask(name: string, mask: Uint8Array | undefined): void {
    const slot = this.byName.get(name);
    if (!slot) throw new ModelpressError('E_NOT_FOUND', `optimizer: no parameter named '${name}'`);
    if (mask && mask.length !== slot.param.data.length) {
      throw new ModelpressError(
        'E_SHAPE',
        `optimizer: mask for '${name}' has ${mask.length} entries, parameter has ${slot.param.data.length}`,
      );
    }
    slot.mask = mask;
    if (mask) applyMask(slot.param.data, mask);
  }

  /**
   * Sets (or with `undefined`, clears) the proximal step of parameter `name`:
   * after every gradient update at learning rate lr, `op(weights, lr)` (e.g.
   * soft-thresholding for an L1 penalty), then the mask.
   */
  setProximal(name: string, op: ProximalOp | undefined): void {
    const slot = this.byName.get(name);
    if (!slot) throw new ModelpressError('E_NOT_FOUND', `optimizer: no parameter named '${name}'`);
    slot.prox = op;
  }

  getMask(name: string): Uint8Array | undefined {
    return this.byName.get(name)?.mask;
  }

  /** Learning rate of parameter `name` at the next step (base rate times schedule factor). */
  currentLr(name: string): number {
    const slot = this.byName.get(name);
    if (!slot) throw new ModelpressError('E_NOT_FOUND', `optimizer: no parameter named '${name}'`);
    return slot.options.lr * (this.schedule ? this.schedule(this.stepCount) : 1);
  }

  /**
   * One update of every parameter. Gradients are masked and clipped IN PLACE
   * (pass copies if the caller still needs the raw values).
   */
  step(grads: GradientSource): StepInfo {
    const gradList: Float32Array[] = new Array(this.slots.length);
    for (let k = 0; k < this.slots.length; k++) {
      const slot = this.slots[k]!;
      const g = lookup(grads, slot.param.name);
      if (!g) throw new ModelpressError('E_NOT_FOUND', `optimizer: no gradient for parameter '${slot.param.name}'`);
      if (g.length !== slot.param.data.length) {
        throw new ModelpressError(
          'E_SHAPE',
          `optimizer: gradient for '${slot.param.name}' has ${g.length} entries, parameter has ${slot.param.data.length}`,
        );
      }
      if (slot.mask) applyMask(g, slot.mask);
      gradList[k] = g;
    }
    let norm = Number.NaN;
    let clipScale = 1;
    if (this.maxGradNorm !== undefined) {
      const c = clipByGlobalNorm(gradList, this.maxGradNorm);
      norm = c.norm;
      clipScale = c.scale;
    }
    const lrFactor = this.schedule ? this.schedule(this.stepCount) : 1;
    this.stepCount++;
    for (let k = 0; k < this.slots.length; k++) {
      const slot = this.slots[k]!;
      const lr = slot.options.lr * lrFactor;
      this.update(slot, gradList[k]!, lr, this.stepCount);
      slot.prox?.(slot.param.data, lr);
      if (slot.mask) applyMask(slot.param.data, slot.mask);
    }
    return { gradNorm: norm, clipScale, lrFactor };
  }
}

function isGroupList<O>(
  params: readonly Param[] | readonly ParamGroup<O & BaseGroupOptions>[],
): params is readonly ParamGroup<O & BaseGroupOptions>[] {
  return params.length > 0 && 'params' in params[0]!;
}

/** The object without its undefined-valued keys (so spreading it keeps defaults). */
export function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function lookup(grads: GradientSource, name: string): Float32Array | undefined {
  return grads instanceof Map ? grads.get(name) : (grads as Record<string, Float32Array>)[name];
}

/** Zeroes the entries whose mask is 0 (exact +0, so the weights read back as 0). */
export function applyMask(values: Float32Array, mask: Uint8Array): void {
  for (let i = 0; i < values.length; i++) if (mask[i] === 0) values[i] = 0;
}

export function checkNonNegative(what: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value))
    throw new ModelpressError('E_ARG', `optimizer: ${what} must be a finite number >= 0, got ${value}`);
}
