/**
 * Sparsity penalties for training, applied in proximal form by the optimizer
 * (optim/proximal.ts) so weights reach exact zeros:
 *
 * - `l1`: λ‖W‖₁ on every Conv/ConvTranspose/Gemm/MatMul weight (soft-threshold).
 * - `groupLasso`: λ·Σ_filters ‖W_f‖₂ over the output channels of the same
 *   weights (a Conv filter, a Gemm/MatMul output column), as in SSL (Wen et al. 2016).
 * - `slimming`: λ‖γ‖₁ on BatchNormalization scales (Network Slimming, Liu et al. 2017).
 *
 * Biases, BatchNormalization shifts and running statistics are not penalised.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { findWeights, sharedRole } from '../graph/weights.js';
import { composeProx, groupLassoProx, groupsAlong, l1Prox, type ProximalOp } from './optim/proximal.js';
import type { Param, StepOptimizer } from './optim/types.js';

export interface SparsityPenalty {
  /** λ of the L1 penalty on weights. */
  l1?: number;
  /** λ of the group lasso over output channels. */
  groupLasso?: number;
  /** λ of the L1 penalty on BatchNormalization scales. */
  slimming?: number;
}

/** E_ARG unless every λ given is a finite number >= 0 (named by its flag). */
export function checkPenalty(p: SparsityPenalty): void {
  const flags: [keyof SparsityPenalty, string][] = [
    ['l1', '--l1'],
    ['groupLasso', '--group-lasso'],
    ['slimming', '--slimming'],
  ];
  for (const [key, flag] of flags) {
    const v = p[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ModelpressError('E_ARG', `${flag}: the penalty λ must be a finite number >= 0, got ${String(v)}`);
  }
}

/** True when some λ is positive. */
export function hasPenalty(p: SparsityPenalty): boolean {
  return (p.l1 ?? 0) > 0 || (p.groupLasso ?? 0) > 0 || (p.slimming ?? 0) > 0;
}

/** Initializer names of the BatchNormalization scales of the main graph. */
export function batchNormScaleNames(model: ModelProto): string[] {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const out: string[] = [];
  for (const n of model.graph?.node ?? []) {
    const s = n.input[1];
    if (n.opType === 'BatchNormalization' && s && inits.has(s) && !out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * The proximal step per initializer that `penalty` asks for on `model`;
 * only names in `trainable` (when given) are included. E_ARG for a bad λ;
 * E_GRAPH when a positive λ finds nothing to act on (--slimming on a model
 * without BatchNormalization, say).
 */
export function proximalSteps(model: ModelProto, penalty: SparsityPenalty, trainable?: readonly string[]): Map<string, ProximalOp> {
  checkPenalty(penalty);
  const keep = trainable ? new Set(trainable) : undefined;
  const ops = new Map<string, ProximalOp[]>();
  const add = (name: string, op: ProximalOp): void => {
    if (keep && !keep.has(name)) return;
    const list = ops.get(name) ?? [];
    list.push(op);
    ops.set(name, list);
  };
  const l1 = penalty.l1 ?? 0;
  const group = penalty.groupLasso ?? 0;
  const slim = penalty.slimming ?? 0;
  let weights = 0;
  let grouped = 0;
  if (l1 > 0 || group > 0) {
    for (const def of findWeights(model)) {
      if (def.path !== '' || def.kind !== 'initializer' || def.dtype !== 'float32') continue;
      const role = sharedRole(def);
      if (!role || role.role === 'embedding' || role.role === 'recurrent') continue;
      if (keep && !keep.has(def.name)) continue;
      weights++;
      // L1 first, then the group shrink: the exact proximal step of the sparse group lasso.
      if (l1 > 0) add(def.name, l1Prox(l1));
      if (group > 0 && role.channelAxis !== undefined) {
        add(def.name, groupLassoProx(group, groupsAlong(def.shape, role.channelAxis)));
        grouped++;
      }
    }
    if (weights === 0) throw new ModelpressError('E_GRAPH', 'no Conv/Gemm/MatMul float32 weights to penalise (--l1, --group-lasso)');
    if (group > 0 && grouped === 0) throw new ModelpressError('E_GRAPH', 'no weight with an output-channel axis for --group-lasso');
  }
  if (slim > 0) {
    const scales = batchNormScaleNames(model).filter((n) => !keep || keep.has(n));
    if (scales.length === 0)
      throw new ModelpressError('E_GRAPH', '--slimming needs BatchNormalization layers with trainable scales; the model has none');
    for (const s of scales) add(s, l1Prox(slim));
  }
  return new Map([...ops].map(([name, list]) => [name, list.length === 1 ? list[0]! : composeProx(list)]));
}

/** An optimizer factory for train(): `base(params)` with the proximal steps of `steps` set on it. */
export function withProximalSteps(
  base: (params: Param[]) => StepOptimizer,
  steps: ReadonlyMap<string, ProximalOp>,
): (params: Param[]) => StepOptimizer {
  return (params) => {
    const opt = base(params);
    const names = new Set(params.map((p) => p.name));
    for (const [name, op] of steps) if (names.has(name)) opt.setProximal(name, op);
    return opt;
  };
}

/** Exact zeros and total entries over the named tensors. */
export function countZeros(values: ReadonlyMap<string, Float32Array>, names: Iterable<string>): { zeros: number; total: number } {
  let zeros = 0;
  let total = 0;
  for (const n of names) {
    const v = values.get(n);
    if (!v) continue;
    total += v.length;
    for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
  }
  return { zeros, total };
}
