/**
 * Scores for structured (filter / channel) pruning: the L1 or L2 norm of each
 * output channel's weights (Li et al. 2017, "Pruning Filters for Efficient
 * ConvNets"), and the lowest-scoring channels to remove.
 */
import { ModelpressError } from '../core/errors.js';

export type ChannelNorm = 'l1' | 'l2';

/** Norm of every slice of a row-major tensor along `axis` (one score per output channel). */
export function channelNorms(values: Float32Array, shape: readonly number[], axis: number, norm: ChannelNorm = 'l1'): Float64Array {
  const channels = shape[axis];
  if (channels === undefined) throw new ModelpressError('E_SHAPE', `axis ${axis} out of range for shape [${shape.join(', ')}]`);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scores = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = values[i]!;
    scores[c] += norm === 'l1' ? Math.abs(v) : v * v;
  }
  if (norm === 'l2') for (let c = 0; c < channels; c++) scores[c] = Math.sqrt(scores[c]!);
  return scores;
}

/** The `count` channels of lowest score, ties by index, returned in ascending channel order. */
export function lowestChannels(scores: ArrayLike<number>, count: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  return order.slice(0, Math.max(0, Math.min(count, scores.length))).sort((a, b) => a - b);
}

/** Channels to remove for a target fraction: round(fraction x C), always keeping at least one. */
export function channelsToRemove(scores: ArrayLike<number>, fraction: number): number[] {
  const count = Math.min(scores.length - 1, Math.round(fraction * scores.length));
  return lowestChannels(scores, count);
}
