/**
 * N:M semi-structured sparsity (NVIDIA Ampere sparse tensor cores use 2:4):
 * along the reduction (input) axis of each output channel, every group of M
 * consecutive weights keeps its N largest |w| and zeroes the rest. For a
 * Conv weight [O, I, kh, kw] the groups run along I at each kernel position
 * (the layout cuDNN's sparse kernels read after moving I innermost).
 */
import { ModelpressError } from '../core/errors.js';
import { resultFromMask, type PruneResult } from './mask.js';

export interface NmPattern {
  /** Weights kept per group. */
  readonly n: number;
  /** Group size. */
  readonly m: number;
}

/** Parses 'N:M' (e.g. '2:4'); E_ARG unless 0 < N < M. */
export function parseNmPattern(text: string): NmPattern {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  const n = match ? Number(match[1]) : NaN;
  const m = match ? Number(match[2]) : NaN;
  if (!match || !(n > 0 && n < m))
    throw new ModelpressError('E_ARG', `N:M pattern must be two integers with 0 < N < M such as 2:4, got '${text}'`);
  return { n, m };
}

/** Why a tensor cannot take the pattern along `axis`, or undefined when it can. */
export function nmUnfitReason(shape: readonly number[], axis: number, pattern: NmPattern): string | undefined {
  const len = shape[axis];
  if (len === undefined) return `axis ${axis} out of range for shape [${shape.join(', ')}]`;
  if (len % pattern.m !== 0) return `input dimension ${len} (axis ${axis}) is not a multiple of ${pattern.m}`;
  return undefined;
}

/** Prunes to N:M along `axis` of a row-major tensor of `shape`; E_SHAPE when the axis length is not a multiple of M. */
export function nmPrune(values: Float32Array, shape: readonly number[], axis: number, pattern: NmPattern): PruneResult {
  const why = nmUnfitReason(shape, axis, pattern);
  if (why) throw new ModelpressError('E_SHAPE', `cannot apply ${pattern.n}:${pattern.m} sparsity: ${why}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== values.length)
    throw new ModelpressError('E_SHAPE', `shape [${shape.join(', ')}] holds ${count} values, got ${values.length}`);
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = count / (len * inner);
  const { n, m } = pattern;
  const mask = new Uint8Array(values.length).fill(1);
  const idx = new Int32Array(m);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      for (let g = 0; g < len; g += m) {
        for (let t = 0; t < m; t++) idx[t] = base + (g + t) * inner;
        // Smallest |w| first, ties by position: prune the first m - n.
        const sorted = Array.from(idx).sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
        for (let t = 0; t < m - n; t++) mask[sorted[t]!] = 0;
      }
    }
  }
  return resultFromMask(values, mask);
}

/** True when every full group along `axis` has at most N nonzeros. */
export function satisfiesNm(values: Float32Array, shape: readonly number[], axis: number, pattern: NmPattern): boolean {
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = values.length / (len * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      for (let g = 0; g + pattern.m <= len; g += pattern.m) {
        let nz = 0;
        for (let t = 0; t < pattern.m; t++) if (values[base + (g + t) * inner] !== 0) nz++;
        if (nz > pattern.n) return false;
      }
    }
  }
  return true;
}
