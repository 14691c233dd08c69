/**
 * 1-D k-means for weight sharing (Deep Compression, section 3). Values are
 * sorted once; in one dimension every cluster is an interval of the sorted
 * values, so a Lloyd step is k binary searches plus prefix sums, O(k log n).
 * `kmeansOptimal1d` finds the exact minimum-SSE clustering by dynamic
 * programming (divide-and-conquer over the monotone split points,
 * O(k n log n) on the distinct values), for small k.
 */
import { ModelpressError } from '../core/errors.js';

export type KmeansInit = 'linear' | 'density' | 'random' | 'kmeans++';

export interface KmeansOptions {
  /** Number of centroids (2^bits). */
  readonly k: number;
  /** Centroid initialization; default 'linear' (evenly spaced over [min, max], best in Deep Compression). */
  readonly init?: KmeansInit;
  /** Lloyd iterations at most; default 100. */
  readonly maxIterations?: number;
  /** Seed for 'random' and 'kmeans++'; default 1. */
  readonly seed?: number;
  /**
   * Keep exact zeros as their own centroid 0 (index 0) and cluster only the
   * non-zeros into k-1 centroids: pruned weights stay exactly zero.
   */
  readonly zeroCentroid?: boolean;
}

export interface KmeansResult {
  /** Sorted centroids (float32 values). */
  readonly centroids: Float32Array;
  /** Index into `centroids` for each input value. */
  readonly indices: Uint8Array | Uint16Array;
  /** Sum of squared errors of the reconstruction. */
  readonly sse: number;
  readonly iterations: number;
}

/** Distinct sorted values with their multiplicities (float64 prefix sums are built from them). */
interface Weighted {
  readonly values: Float64Array;
  readonly counts: Float64Array;
  /** Prefix sums over sorted points: count, sum, sum of squares (length n+1). */
  readonly pc: Float64Array;
  readonly p1: Float64Array;
  readonly p2: Float64Array;
}

function weighted(x: Float32Array, skipZeros: boolean): Weighted {
  const sorted = Float32Array.from(skipZeros ? x.filter((v) => v !== 0) : x).sort();
  let m = 0;
  const values = new Float64Array(sorted.length);
  const counts = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (Number.isNaN(v)) throw new ModelpressError('E_ARG', 'cannot cluster a tensor containing NaN');
    if (m > 0 && values[m - 1] === v) counts[m - 1]!++;
    else {
      values[m] = v;
      counts[m] = 1;
      m++;
    }
  }
  const vs = values.subarray(0, m);
  const cs = counts.subarray(0, m);
  const pc = new Float64Array(m + 1);
  const p1 = new Float64Array(m + 1);
  const p2 = new Float64Array(m + 1);
  for (let i = 0; i < m; i++) {
    pc[i + 1] = pc[i]! + cs[i]!;
    p1[i + 1] = p1[i]! + cs[i]! * vs[i]!;
    p2[i + 1] = p2[i]! + cs[i]! * vs[i]! * vs[i]!;
  }
  return { values: vs, counts: cs, pc, p1, p2 };
}

/** SSE of the points [i, j) around their mean. */
function intervalCost(w: Weighted, i: number, j: number): number {
  const n = w.pc[j]! - w.pc[i]!;
  if (n <= 0) return 0;
  const s = w.p1[j]! - w.p1[i]!;
  const c = w.p2[j]! - w.p2[i]! - (s * s) / n;
  return c > 0 ? c : 0;
}

/** First index of `values` that is >= v (values sorted ascending). */
function lowerBound(values: Float64Array, v: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** splitmix32: a small seeded PRNG so runs are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

function initCentroids(w: Weighted, k: number, init: KmeansInit, seed: number): Float64Array {
  const n = w.values.length;
  const lo = w.values[0]!;
  const hi = w.values[n - 1]!;
  const c = new Float64Array(k);
  const total = w.pc[n]!;
  switch (init) {
    case 'linear':
      for (let j = 0; j < k; j++) c[j] = k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * j) / (k - 1);
      break;
    case 'density':
      // Evenly spaced on the CDF: centroids follow where the weights are.
      for (let j = 0; j < k; j++) {
        const target = ((j + 0.5) / k) * total;
        let a = 0;
        let b = n;
        while (a < b) {
          const mid = (a + b) >>> 1;
          if (w.pc[mid + 1]! < target) a = mid + 1;
          else b = mid;
        }
        c[j] = w.values[Math.min(a, n - 1)]!;
      }
      break;
    case 'random': {
      const rand = prng(seed);
      for (let j = 0; j < k; j++) c[j] = w.values[Math.floor(rand() * n)]!;
      break;
    }
    case 'kmeans++': {
      const rand = prng(seed);
      c[0] = w.values[Math.floor(rand() * n)]!;
      const d2 = new Float64Array(n);
      for (let j = 1; j < k; j++) {
        let sum = 0;
        for (let i = 0; i < n; i++) {
          let best = Infinity;
          for (let t = 0; t < j; t++) {
            const d = w.values[i]! - c[t]!;
            if (d * d < best) best = d * d;
          }
          d2[i] = best * w.counts[i]!;
          sum += d2[i]!;
        }
        let r = rand() * sum;
        let pick = n - 1;
        for (let i = 0; i < n; i++) {
          r -= d2[i]!;
          if (r <= 0) {
            pick = i;
            break;
          }
        }
        c[j] = w.values[pick]!;
      }
      break;
    }
  }
  return c.sort();
}

/** Lloyd iterations on weighted sorted points; returns centroids and the interval starts. */
function lloyd(w: Weighted, centroids: Float64Array, maxIterations: number): { centroids: Float64Array; iterations: number } {
  const k = centroids.length;
  const n = w.values.length;
  const starts = new Int32Array(k + 1);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    centroids.sort();
    starts[0] = 0;
    starts[k] = n;
    for (let j = 1; j < k; j++) starts[j] = lowerBound(w.values, (centroids[j - 1]! + centroids[j]!) / 2);
    let moved = false;
    for (let j = 0; j < k; j++) {
      const cnt = w.pc[starts[j + 1]!]! - w.pc[starts[j]!]!;
      if (cnt > 0) {
        const mean = (w.p1[starts[j + 1]!]! - w.p1[starts[j]!]!) / cnt;
        if (mean !== centroids[j]) {
          centroids[j] = mean;
          moved = true;
        }
      }
    }
    if (!moved) break;
  }
  return { centroids: centroids.sort(), iterations };
}

/**
 * Exact 1-D k-means (minimum SSE) over the distinct values, by DP with
 * divide-and-conquer optimization. Cost O(k n log n) with n distinct values;
 * `maxWork` (default 2e8) bounds k*n*log2(n) and throws E_ARG past it.
 */
function kmeansOptimal1dCentroids(w: Weighted, k: number, maxWork = 2e8): Float64Array {
  const n = w.values.length;
  if (k >= n) return Float64Array.from(w.values);
  const work = k * n * Math.log2(n + 1);
  if (work > maxWork) {
    throw new ModelpressError(
      'E_ARG',
      `exact 1-D k-means over ${n} distinct values with k=${k} is too costly (${work.toExponential(1)} > ${maxWork.toExponential(1)}); use Lloyd's k-means`,
    );
  }
  // cost[m][i]: best SSE of the first i points in m+1 clusters; split[m][i]: start of the last cluster.
  let prev = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) prev[i] = intervalCost(w, 0, i);
  const splits: Int32Array[] = [new Int32Array(n + 1)];
  for (let m = 1; m < k; m++) {
    const cur = new Float64Array(n + 1).fill(Infinity);
    const split = new Int32Array(n + 1);
    const solve = (lo: number, hi: number, optLo: number, optHi: number): void => {
      if (lo > hi) return;
      const mid = (lo + hi) >>> 1;
      let best = Infinity;
      let bestJ = optLo;
      const top = Math.min(mid, optHi);
      for (let j = optLo; j <= top; j++) {
        const c = prev[j]! + intervalCost(w, j, mid);
        if (c < best) {
          best = c;
          bestJ = j;
        }
      }
      cur[mid] = best;
      split[mid] = bestJ;
      solve(lo, mid - 1, optLo, bestJ);
      solve(mid + 1, hi, bestJ, optHi);
    };
    solve(0, n, 0, n);
    splits.push(split);
    prev = cur;
  }
  const centroids = new Float64Array(k);
  let end = n;
  for (let m = k - 1; m >= 0; m--) {
    const start = m === 0 ? 0 : splits[m]![end]!;
    const cnt = w.pc[end]! - w.pc[start]!;
    centroids[m] = cnt > 0 ? (w.p1[end]! - w.p1[start]!) / cnt : w.values[Math.min(start, n - 1)]!;
    end = start;
  }
  return centroids.sort();
}

function assign(x: Float32Array, centroids: Float32Array, zeroCentroid: boolean): { indices: Uint8Array | Uint16Array; sse: number } {
  const k = centroids.length;
  const indices = k <= 256 ? new Uint8Array(x.length) : new Uint16Array(x.length);
  // Decision boundaries between neighbouring centroids, searched per value.
  const first = zeroCentroid ? 1 : 0;
  const bounds = new Float64Array(Math.max(0, k - first - 1));
  for (let j = first; j < k - 1; j++) bounds[j - first] = (centroids[j]! + centroids[j + 1]!) / 2;
  let sse = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    let idx: number;
    if (zeroCentroid && v === 0) idx = 0;
    else idx = first + lowerBound(bounds, v);
    // a value exactly on a boundary goes to the lower centroid; either is optimal
    indices[i] = idx;
    const d = v - centroids[idx]!;
    sse += d * d;
  }
  return { indices, sse };
}

function finish(x: Float32Array, centroids64: Float64Array, zeroCentroid: boolean, iterations: number): KmeansResult {
  const body = Float32Array.from(centroids64);
  const centroids = zeroCentroid ? Float32Array.from([0, ...body]) : body;
  const { indices, sse } = assign(x, centroids, zeroCentroid);
  return { centroids, indices, sse, iterations };
}

function prepare(x: Float32Array, opts: { k: number; zeroCentroid?: boolean }): { w: Weighted; k: number } | undefined {
  if (!Number.isInteger(opts.k) || opts.k < 1 || opts.k > 65536)
    throw new ModelpressError('E_ARG', `k must be an integer in [1, 65536], got ${opts.k}`);
  const zero = opts.zeroCentroid ?? false;
  const w = weighted(x, zero);
  const k = zero ? opts.k - 1 : opts.k;
  if (w.values.length === 0 || k <= 0) return undefined;
  return { w, k };
}

/** Lloyd's k-means in one dimension. */
export function kmeans1d(x: Float32Array, opts: KmeansOptions): KmeansResult {
  const zero = opts.zeroCentroid ?? false;
  const p = prepare(x, opts);
  if (!p) return finish(x, new Float64Array(0), zero, 0);
  if (p.k >= p.w.values.length) return finish(x, Float64Array.from(p.w.values), zero, 0);
  const { centroids, iterations } = lloyd(p.w, initCentroids(p.w, p.k, opts.init ?? 'linear', opts.seed ?? 1), opts.maxIterations ?? 100);
  return finish(x, centroids, zero, iterations);
}

/** Exact minimum-SSE 1-D clustering (see kmeansOptimal1dCentroids for the cost bound). */
export function kmeansOptimal1d(x: Float32Array, opts: { k: number; zeroCentroid?: boolean; maxWork?: number }): KmeansResult {
  const zero = opts.zeroCentroid ?? false;
  const p = prepare(x, opts);
  if (!p) return finish(x, new Float64Array(0), zero, 0);
  return finish(x, kmeansOptimal1dCentroids(p.w, p.k, opts.maxWork), zero, 0);
}

/** Reconstruct values from a codebook and indices. */
export function decodeCodebook(centroids: Float32Array, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = centroids[indices[i]!]!;
  return out;
}
