/** Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_). */

/** L2 norm over all the given arrays together (accumulated in float64). */
export function globalNorm(arrays: readonly Float32Array[]): number {
  let sum = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      sum += v * v;
    }
  }
  return Math.sqrt(sum);
}

/**
 * Scales every array in place so that their global L2 norm is at most
 * `maxNorm`. Returns the norm before clipping and the scale applied.
 */
export function clipByGlobalNorm(arrays: readonly Float32Array[], maxNorm: number): { norm: number; scale: number } {
  const norm = globalNorm(arrays);
  if (!(norm > maxNorm) || !Number.isFinite(norm)) return { norm, scale: 1 };
  const scale = maxNorm / (norm + 1e-6);
  for (const a of arrays) for (let i = 0; i < a.length; i++) a[i] *= scale;
  return { norm, scale };
}
