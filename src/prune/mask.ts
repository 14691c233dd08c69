/** Masks: 1 keeps a weight, 0 prunes it (holds it at exactly zero). */

/** The outcome of pruning one tensor. */
export interface PruneResult {
  /** The weights with pruned entries set to exactly +0. */
  readonly values: Float32Array;
  /** 1 = kept, 0 = pruned; same length as `values`. */
  readonly mask: Uint8Array;
  /** Number of zeros in `mask`. */
  readonly pruned: number;
}

/** Zeroes `values` where `mask` is 0 (a copy; +0 so the file reads back as 0). */
export function applyMaskCopy(values: Float32Array, mask: Uint8Array): Float32Array {
  const out = values.slice();
  for (let i = 0; i < out.length; i++) if (mask[i] === 0) out[i] = 0;
  return out;
}

/** Number of zeros in a mask. */
export function countPruned(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) n++;
  return n;
}

/** Number of entries that are exactly zero (+0 or -0). */
export function countZeros(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) n++;
  return n;
}

/** A PruneResult from a mask. */
export function resultFromMask(values: Float32Array, mask: Uint8Array): PruneResult {
  return { values: applyMaskCopy(values, mask), mask, pruned: countPruned(mask) };
}

/** How many of `count` elements a sparsity in [0, 1) prunes (nearest integer). */
export function prunedCount(count: number, sparsity: number): number {
  return Math.min(count, Math.max(0, Math.round(sparsity * count)));
}
