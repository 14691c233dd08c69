/**
 * Per-layer magnitude pruning: zero the weights of smallest |w|, either a
 * target fraction of the layer (exact to the element) or every weight below
 * Deep Compression's threshold `quality x std(layer)`.
 */
import { ModelpressError } from '../core/errors.js';
import { prunedCount, resultFromMask, type PruneResult } from './mask.js';

export function checkSparsity(sparsity: number, what = 'sparsity'): void {
  if (!(sparsity >= 0 && sparsity < 1)) throw new ModelpressError('E_ARG', `${what} must be in [0, 1), got ${sparsity}`);
}

/**
 * Indices of `values` ordered by |w| ascending, ties by index (so the order,
 * and hence the mask, is deterministic).
 */
export function magnitudeOrder(values: Float32Array): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const abs = new Float32Array(values.length);
  for (let i = 0; i < abs.length; i++) abs[i] = Math.abs(values[i]!);
  order.sort((a, b) => abs[a]! - abs[b]! || a - b);
  return order;
}

/** Prunes exactly round(sparsity * n) weights of smallest magnitude. */
export function magnitudePrune(values: Float32Array, sparsity: number): PruneResult {
  checkSparsity(sparsity);
  const k = prunedCount(values.length, sparsity);
  const mask = new Uint8Array(values.length).fill(1);
  const order = magnitudeOrder(values);
  for (let i = 0; i < k; i++) mask[order[i]!] = 0;
  return resultFromMask(values, mask);
}

/** Population standard deviation of the layer's weights. */
export function standardDeviation(values: Float32Array): number {
  if (values.length === 0) return 0;
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i]!;
  mean /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i]! - mean) ** 2;
  return Math.sqrt(v / values.length);
}

/** Prunes every weight with |w| < threshold. */
export function thresholdPrune(values: Float32Array, threshold: number): PruneResult {
  if (!(threshold >= 0)) throw new ModelpressError('E_ARG', `threshold must be a number >= 0, got ${threshold}`);
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) mask[i] = Math.abs(values[i]!) < threshold ? 0 : 1;
  return resultFromMask(values, mask);
}

/** Deep Compression (Han et al. 2015): threshold = quality x std of the layer. */
export function qualityPrune(values: Float32Array, quality: number): PruneResult & { threshold: number } {
  if (!(quality >= 0) || !Number.isFinite(quality))
    throw new ModelpressError('E_ARG', `quality must be a finite number >= 0, got ${quality}`);
  const threshold = quality * standardDeviation(values);
  return { ...thresholdPrune(values, threshold), threshold };
}
