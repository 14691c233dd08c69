/**
 * Weight initialization as PyTorch's defaults do it (nn.Linear / nn.ConvNd
 * reset_parameters): kaiming_uniform with a = sqrt(5), which is
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias; or He
 * uniform (gain sqrt(2), bound sqrt(6/fan_in)) with zero bias.
 */
import type { Rng } from '../../core/random.js';

/** `pytorch`: torch defaults (bound 1/sqrt(fan_in)); `he`: He/Kaiming uniform for ReLU (bound sqrt(6/fan_in), zero bias). */
export type InitScheme = 'pytorch' | 'he';

export function uniformArray(n: number, bound: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** Weight and bias of a layer with `fanIn` inputs per output and `count` weights. */
export function initLayer(
  scheme: InitScheme,
  count: number,
  fanIn: number,
  biasCount: number,
  rng: Rng,
): { weight: Float32Array; bias: Float32Array } {
  if (scheme === 'he') return { weight: uniformArray(count, Math.sqrt(6 / fanIn), rng), bias: new Float32Array(biasCount) };
  const bound = 1 / Math.sqrt(fanIn);
  return { weight: uniformArray(count, bound, rng), bias: uniformArray(biasCount, bound, rng) };
}
