/**
 * Proximal operators of sparsity penalties, applied after an optimizer's
 * gradient step (proximal gradient descent): the penalty is not
 * differentiated but solved exactly for one step, so weights land on exact
 * zeros instead of oscillating around them.
 *
 * - L1, t·λ‖w‖₁: soft-thresholding, w ← sign(w)·max(|w| − tλ, 0).
 * - Group lasso, t·λ·Σ_g ‖w_g‖₂: block soft-thresholding, w_g ← w_g·max(0, 1 − tλ/‖w_g‖₂).
 *
 * Each is the argmin over x of ½‖x − v‖² + t·penalty(x).
 */
import { ModelpressError } from '../../core/errors.js';

/** Updates `w` in place by the proximal operator at step size `lr` (the learning rate of the step). */
export type ProximalOp = (w: Float32Array, lr: number) => void;

/** Soft-thresholding in place: every entry moves `tau` towards zero and stops at exactly +0. */
export function softThreshold(w: Float32Array, tau: number): void {
  if (!(tau > 0)) return;
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    w[i] = v > tau ? v - tau : v < -tau ? v + tau : 0;
  }
}

/**
 * Groups of a row-major tensor along one axis: element i belongs to group
 * floor(i / inner) mod count, where inner is the product of the dims after the axis
 * (axis 0 of a Conv weight [O, I, kh, kw]: one group per filter).
 */
export interface GroupLayout {
  /** Number of groups (the size of the axis). */
  readonly count: number;
  /** Product of the dims after the axis. */
  readonly inner: number;
}

/** The groups along `axis` of a tensor of `shape`; E_SHAPE when the axis is out of range. */
export function groupsAlong(shape: readonly number[], axis: number): GroupLayout {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length)
    throw new ModelpressError('E_SHAPE', `group axis ${axis} out of range for shape [${shape.join(', ')}]`);
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return { count: shape[axis]!, inner };
}

/** The L2 norm of every group. */
export function groupNorms(w: Float32Array, g: GroupLayout): Float64Array {
  const sq = new Float64Array(g.count);
  for (let i = 0; i < w.length; i++) {
    const k = Math.floor(i / g.inner) % g.count;
    sq[k]! += w[i]! * w[i]!;
  }
  for (let k = 0; k < g.count; k++) sq[k] = Math.sqrt(sq[k]!);
  return sq;
}

/** Block soft-thresholding in place: each group is scaled by max(0, 1 − tau/‖w_g‖₂); groups at or under tau become exact zeros. */
export function groupShrink(w: Float32Array, g: GroupLayout, tau: number): void {
  if (!(tau > 0)) return;
  if (g.count * g.inner !== 0 && w.length % (g.count * g.inner) !== 0)
    throw new ModelpressError('E_SHAPE', `group layout ${g.count}x${g.inner} does not tile ${w.length} values`);
  const norms = groupNorms(w, g);
  const scale = new Float64Array(g.count);
  for (let k = 0; k < g.count; k++) scale[k] = norms[k]! > tau ? 1 - tau / norms[k]! : 0;
  for (let i = 0; i < w.length; i++) {
    const s = scale[Math.floor(i / g.inner) % g.count]!;
    w[i] = s === 0 ? 0 : w[i]! * s;
  }
}

/** The proximal step of λ‖w‖₁ (threshold lr·λ). */
export function l1Prox(lambda: number): ProximalOp {
  return (w, lr) => softThreshold(w, lr * lambda);
}

/** The proximal step of λ·Σ_g ‖w_g‖₂ over `groups` (threshold lr·λ per group). */
export function groupLassoProx(lambda: number, groups: GroupLayout): ProximalOp {
  return (w, lr) => groupShrink(w, groups, lr * lambda);
}

/** Applies several proximal steps in order (L1 then group: the exact prox of the sparse group lasso). */
export function composeProx(ops: readonly ProximalOp[]): ProximalOp {
  return (w, lr) => {
    for (const op of ops) op(w, lr);
  };
}
