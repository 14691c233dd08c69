/**
 * Activation range calibration for static quantization, as collect ->
 * compute: a `RangeCollector` sees every batch of one tensor's values and
 * keeps its exact min/max and a symmetric histogram; `computeRange` turns
 * that into the [lo, hi] to quantize with, by one of four methods:
 *
 * - minmax: the observed extremes.
 * - percentile: clip the tails holding (100 - p)% of the values.
 * - entropy: TensorRT's method: the clipping threshold whose 8-bit
 *   quantized histogram has the least KL divergence from the original.
 * - mse: the threshold minimizing the expected squared error (clipping plus
 *   rounding) over the histogram.
 */

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];

/**
 * Histogram over [-radius, radius] with a fixed even bin count. When a value
 * falls outside, the radius doubles and neighbouring bins merge in pairs,
 * which is exact, so the result does not depend on batch order beyond the
 * final radius.
 */
export class RangeCollector {
  min = Infinity;
  max = -Infinity;
  count = 0;
  radius = 0;
  readonly bins: Float64Array;

  /** @param numBins histogram bins over [-radius, radius] (multiple of 4; default 2048). */
  constructor(readonly numBins = 2048) {
    if (numBins % 4 !== 0 || numBins < 8) throw new RangeError(`numBins must be a multiple of 4 >= 8, got ${numBins}`);
    this.bins = new Float64Array(numBins);
  }

  add(values: ArrayLike<number>): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      // NaN/Inf activations carry no range information; finite values still count
      lo = this.min;
      hi = this.max;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    this.min = lo;
    this.max = hi;
    const need = Math.max(Math.abs(lo), Math.abs(hi));
    if (this.radius === 0) this.radius = need > 0 ? need : 0;
    while (need > this.radius) this.grow();
    const n = this.numBins;
    if (this.radius === 0) {
      // everything seen so far is zero: it sits in the centre bin
      this.bins[n / 2]! += values.length;
      this.count += values.length;
      return;
    }
    const scale = n / (2 * this.radius);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      let b = Math.floor((v + this.radius) * scale);
      if (b >= n) b = n - 1;
      else if (b < 0) b = 0;
      this.bins[b]!++;
      this.count++;
    }
  }

  /** Double the radius: old bins (2j, 2j+1) merge into new bin n/4 + j. */
  private grow(): void {
    const n = this.numBins;
    const merged = new Float64Array(n);
    for (let j = 0; j < n / 2; j++) merged[n / 4 + j] = this.bins[2 * j]! + this.bins[2 * j + 1]!;
    this.bins.set(merged);
    this.radius *= 2;
  }

  /** Histogram of |x| with numBins/2 bins over [0, radius]. */
  absHistogram(): Float64Array {
    const half = this.numBins / 2;
    const out = new Float64Array(half);
    for (let j = 0; j < half; j++) out[j] = this.bins[half + j]! + this.bins[half - 1 - j]!;
    return out;
  }
}

export interface RangeOptions {
  /** Percentile kept by 'percentile' (default 99.999). */
  readonly percentile?: number;
  /** Quantized levels the range will be cut into (256 for 8-bit; entropy uses half of it per sign). */
  readonly levels?: number;
}

export interface Range {
  readonly lo: number;
  readonly hi: number;
}

/** The range to quantize with, by `method`. Never narrower than needed to contain 0. */
export function computeRange(c: RangeCollector, method: CalibrationMethod, opts: RangeOptions = {}): Range {
  if (c.count === 0 || !Number.isFinite(c.min)) return { lo: 0, hi: 0 };
  if (method === 'minmax' || c.radius === 0) return { lo: Math.min(0, c.min), hi: Math.max(0, c.max) };
  const nonNegative = c.min >= 0;
  switch (method) {
    case 'percentile': {
      const p = opts.percentile ?? 99.999;
      if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
      const tail = ((100 - p) / 100) * c.count;
      const lo = nonNegative ? 0 : Math.max(c.min, quantileFromLow(c, tail / 2));
      const hi = Math.min(c.max, quantileFromHigh(c, nonNegative ? tail : tail / 2));
      return { lo: Math.min(0, lo), hi: Math.max(0, hi) };
    }
    case 'entropy': {
      const t = entropyThreshold(c.absHistogram(), c.radius, Math.max(2, Math.floor((opts.levels ?? 256) / 2)));
      return clipSymmetric(c, t);
    }
    case 'mse': {
      const t = mseThreshold(c, opts.levels ?? 256);
      return clipSymmetric(c, t);
    }
  }
  throw new RangeError(`unknown calibration method ${String(method)}`);
}

function clipSymmetric(c: RangeCollector, t: number): Range {
  const lo = c.min >= 0 ? 0 : Math.max(c.min, -t);
  return { lo: Math.min(0, lo), hi: Math.max(0, Math.min(c.max, t)) };
}

function quantileFromLow(c: RangeCollector, mass: number): number {
  const w = (2 * c.radius) / c.numBins;
  let acc = 0;
  for (let b = 0; b < c.numBins; b++) {
    acc += c.bins[b]!;
    if (acc > mass) return -c.radius + b * w;
  }
  return c.radius;
}

function quantileFromHigh(c: RangeCollector, mass: number): number {
  const w = (2 * c.radius) / c.numBins;
  let acc = 0;
  for (let b = c.numBins - 1; b >= 0; b--) {
    acc += c.bins[b]!;
    if (acc > mass) return -c.radius + (b + 1) * w;
  }
  return -c.radius;
}

/**
 * TensorRT's KL calibration on a histogram of |x| over [0, radius]: for each
 * candidate cut i >= targetBins, fold the tail into bin i-1 (reference P),
 * merge the first i bins into targetBins levels and spread each level back
 * over its non-empty bins (candidate Q), and keep the i with least KL(P||Q).
 */
export function entropyThreshold(hist: Float64Array, radius: number, targetBins = 128): number {
  const n = hist.length;
  if (n <= targetBins) return radius;
  const width = radius / n;
  let bestI = n;
  let bestKl = Infinity;
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  for (let i = targetBins; i <= n; i++) {
    // P: first i bins, everything beyond folded into the last one
    let above = 0;
    for (let j = i; j < n; j++) above += hist[j]!;
    for (let j = 0; j < i; j++) p[j] = hist[j]!;
    p[i - 1]! += above;
    // Q: merge into targetBins groups, expand uniformly over non-empty source bins
    const perGroup = i / targetBins;
    for (let g = 0; g < targetBins; g++) {
      const start = Math.floor(g * perGroup);
      const end = g === targetBins - 1 ? i : Math.floor((g + 1) * perGroup);
      let sum = 0;
      let nonEmpty = 0;
      for (let j = start; j < end; j++) {
        sum += hist[j]!;
        if (hist[j]! > 0) nonEmpty++;
      }
      for (let j = start; j < end; j++) q[j] = hist[j]! > 0 ? sum / nonEmpty : 0;
    }
    let pSum = 0;
    let qSum = 0;
    for (let j = 0; j < i; j++) {
      pSum += p[j]!;
      qSum += q[j]!;
    }
    if (pSum === 0 || qSum === 0) continue;
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const pj = p[j]! / pSum;
      if (pj === 0) continue;
      const qj = q[j]! / qSum;
      // a bin P has but Q lost (only the folded tail can do that): heavy penalty, not infinity
      kl += qj === 0 ? pj * 1e3 : pj * Math.log(pj / qj);
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestI = i;
    }
  }
  return (bestI + 0.5) * width > radius ? radius : (bestI + 0.5) * width;
}

/** Threshold t minimizing the expected squared error of quantizing to `levels` steps over [-t, t] (or [0, t] for non-negative data). */
export function mseThreshold(c: RangeCollector, levels: number): number {
  const n = c.numBins;
  const w = (2 * c.radius) / n;
  const nonNegative = c.min >= 0;
  const centres = new Float64Array(n);
  for (let b = 0; b < n; b++) centres[b] = -c.radius + (b + 0.5) * w;
  const maxAbs = Math.max(Math.abs(c.min), Math.abs(c.max));
  let best = maxAbs;
  let bestErr = Infinity;
  const candidates = 200;
  for (let s = 1; s <= candidates; s++) {
    const t = (maxAbs * s) / candidates;
    const step = nonNegative ? t / (levels - 1) : (2 * t) / (levels - 1);
    let err = 0;
    for (let b = 0; b < n; b++) {
      const cnt = c.bins[b]!;
      if (cnt === 0) continue;
      const x = centres[b]!;
      const lo = nonNegative ? 0 : -t;
      if (x > t) err += cnt * (x - t) ** 2;
      else if (x < lo) err += cnt * (lo - x) ** 2;
      else err += (cnt * step * step) / 12; // uniform rounding noise inside the range
    }
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return best;
}
