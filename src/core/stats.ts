/**
 * Per-tensor statistics for `inspect` and for choosing compression: range,
 * moments, sparsity, non-finite counts and entropy estimates, plus detection
 * of tensors stored more than once. Browser-safe, one or two passes over
 * typed arrays, float64 accumulators.
 */
import { dtypeTraits, elementCount } from './dtypes.js';
import type { DType } from './dtypes.js';
import { isNumeric, toFloat32, typedView } from './tensor.js';
import type { Tensor } from './tensor.js';
import { concatBytes } from './bytes.js';

export interface TensorStats {
  /** Number of elements. */
  readonly count: number;
  /** Smallest / largest finite value; null when there is none or the dtype is not numeric. */
  readonly min: number | null;
  readonly max: number | null;
  /** Mean and population standard deviation of the finite values (two-pass, float64). */
  readonly mean: number | null;
  readonly std: number | null;
  /** Fraction of elements that are exactly zero (-0 counts as zero); null for non-numeric dtypes. */
  readonly zeroFraction: number | null;
  readonly nanCount: number;
  readonly infCount: number;
  /**
   * Order-0 entropy of the raw stored bytes, in bits per parameter:
   * H(byte histogram) x (stored bits per element / 8). What a byte-wise
   * entropy coder could reach without modelling; at most the dtype's bits.
   */
  readonly entropyRawBits: number;
  /**
   * Entropy of the exact element values (histogram over bit patterns), in bits
   * per parameter; null where not computed (64-bit and non-numeric dtypes).
   */
  readonly entropyValueBits: number | null;
  /**
   * Entropy, in bits per parameter, of the 256-bin histogram after uniform
   * 8-bit quantization of the finite values over [min, max]
   * (q = round((x - min) / (max - min) * 255)); 0 for a constant tensor,
   * null for non-numeric dtypes. A compressibility hint: at most 8.
   */
  readonly entropy8Bits: number | null;
}

/** Shannon entropy in bits of a histogram whose counts sum to `total`. */
export function histogramEntropy(hist: ArrayLike<number>, total: number): number {
  if (total <= 0) return 0;
  let h = 0;
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i]!;
    if (c > 0) {
      const p = c / total;
      h -= p * Math.log2(p);
    }
  }
  return h > 0 ? h : 0; // clamp -0 and rounding below zero
}

/** Entropy of sorted values: run lengths c are the histogram; H = log2 n - (1/n) sum c log2 c (runs of 1 add nothing). */
function sortedRunEntropy(sorted: Uint32Array): number {
  const n = sorted.length;
  if (n === 0) return 0;
  let acc = 0;
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && sorted[i] === sorted[i - 1]) run++;
    else {
      if (run > 1) acc += run * Math.log2(run);
      run = 1;
    }
  }
  const h = Math.log2(n) - acc / n;
  return h > 0 ? h : 0;
}

function rawByteEntropy(t: Tensor): number {
  const bytes = t.dtype === 'string' ? concatBytes(t.strings ?? []) : t.data;
  const hist = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) hist[bytes[i]!]!++;
  const perByte = histogramEntropy(hist, bytes.length);
  const count = t.dtype === 'string' ? (t.strings?.length ?? 0) : elementCount(t.shape);
  if (count === 0) return 0;
  return (perByte * bytes.length) / count;
}

function valueEntropy(t: Tensor, count: number): number | null {
  if (count === 0) return 0;
  const bits = dtypeTraits(t.dtype).bits;
  if (t.dtype === 'string' || bits > 32 || bits === 0) return null;
  if (bits === 4) {
    const hist = new Float64Array(16);
    for (let i = 0; i < count; i++) {
      const b = t.data[i >> 1]!;
      hist[(i & 1) === 0 ? b & 15 : b >> 4]!++;
    }
    return histogramEntropy(hist, count);
  }
  if (bits === 2) return null;
  if (bits === 8) {
    const hist = new Float64Array(256);
    for (let i = 0; i < count; i++) hist[t.data[i]!]!++;
    return histogramEntropy(hist, count);
  }
  if (bits === 16) {
    const v = new Uint16Array(
      t.data.byteOffset % 2 === 0 ? t.data.buffer : t.data.slice().buffer,
      t.data.byteOffset % 2 === 0 ? t.data.byteOffset : 0,
      count,
    );
    const hist = new Uint32Array(65536);
    for (let i = 0; i < count; i++) hist[v[i]!]!++;
    return histogramEntropy(hist, count);
  }
  // 32-bit: sort a copy of the bit patterns (two-pass radix sort, linear time); distinct values are runs
  const copy = new Uint32Array(count);
  new Uint8Array(copy.buffer).set(t.data.subarray(0, count * 4));
  return sortedRunEntropy(radixSort32(copy));
}

/** Sorts 32-bit keys by two stable counting passes over 16-bit digits; returns the sorted array (reuses `keys`). */
function radixSort32(keys: Uint32Array): Uint32Array {
  const tmp = new Uint32Array(keys.length);
  const counts = new Int32Array(65536);
  radixPass(keys, tmp, 0, counts);
  radixPass(tmp, keys, 16, counts);
  return keys;
}

function radixPass(src: Uint32Array, dst: Uint32Array, shift: number, counts: Int32Array): void {
  const n = src.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[(src[i]! >>> shift) & 0xffff]++;
  let sum = 0;
  for (let d = 0; d < 65536; d++) {
    const c = counts[d]!;
    counts[d] = sum;
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const k = src[i]!;
    const d = (k >>> shift) & 0xffff;
    dst[counts[d]!] = k;
    counts[d]++;
  }
}

/** The values as a float array without losing float64/int64 precision (int64 beyond 2^53 rounds). */
function numericValues(t: Tensor): Float32Array | Float64Array {
  if (t.dtype === 'float64') return typedView(t) as Float64Array;
  if (t.dtype === 'int64' || t.dtype === 'uint64') {
    const v = typedView(t) as BigInt64Array | BigUint64Array;
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
    return out;
  }
  return t.dtype === 'float32' ? (typedView(t) as Float32Array) : toFloat32(t);
}

function isStatDType(d: DType): boolean {
  return isNumeric(d) && d !== 'string';
}

/** Statistics of one tensor; see TensorStats for the exact definitions. */
export function tensorStats(t: Tensor): TensorStats {
  const count = t.dtype === 'string' ? (t.strings?.length ?? 0) : elementCount(t.shape);
  const entropyRawBits = rawByteEntropy(t);
  if (!isStatDType(t.dtype)) {
    return {
      count,
      min: null,
      max: null,
      mean: null,
      std: null,
      zeroFraction: null,
      nanCount: 0,
      infCount: 0,
      entropyRawBits,
      entropyValueBits: null,
      entropy8Bits: null,
    };
  }
  const v = numericValues(t);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  let nans = 0;
  let infs = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x === 0) zeros++;
    else if (Number.isNaN(x)) {
      nans++;
      continue;
    } else if (x === Infinity || x === -Infinity) {
      infs++;
      continue;
    }
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const finite = v.length - nans - infs;
  let mean: number | null = null;
  let std: number | null = null;
  let entropy8Bits: number | null = 0;
  if (finite > 0) {
    const m = sum / finite;
    let sq = 0;
    let comp = 0; // the second pass corrects the mean's rounding (corrected two-pass algorithm)
    // the same pass fills the 8-bit histogram: q = round((x - min) * 255 / (max - min))
    const hist = new Uint32Array(256);
    const scale = max > min ? 255 / (max - min) : 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x - x !== 0) continue; // NaN or Inf
      const d = x - m;
      sq += d * d;
      comp += d;
      hist[Math.round((x - min) * scale)]!++;
    }
    mean = m + comp / finite;
    std = Math.sqrt(Math.max(0, (sq - (comp * comp) / finite) / finite));
    entropy8Bits = histogramEntropy(hist, finite);
  }
  return {
    count,
    min: finite > 0 ? min : null,
    max: finite > 0 ? max : null,
    mean,
    std,
    zeroFraction: count > 0 ? zeros / count : 0,
    nanCount: nans,
    infCount: infs,
    entropyRawBits,
    entropyValueBits: valueEntropy(t, count),
    entropy8Bits,
  };
}

/** A set of tensors with identical dtype, shape and bytes stored under different names. */
export interface DuplicateGroup {
  readonly names: string[];
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Bytes of one copy. */
  readonly bytes: number;
  /** Bytes that deduplication would save: bytes x (copies - 1). */
  readonly wastedBytes: number;
}

/** 32-bit FNV-1a style hash over 4-byte words (tail bytes one by one); only used to bucket candidates. */
function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  const words = b.byteLength >>> 2;
  if (b.byteOffset % 4 === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let i = 0; i < words; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  } else {
    for (let i = 0; i < words * 4; i += 4)
      h = Math.imul(h ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)), 0x01000193);
  }
  for (let i = words * 4; i < b.byteLength; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Groups of tensors whose dtype, shape and bytes are identical, largest waste
 * first. Only tensors sharing dtype+shape+length are hashed; hash collisions
 * are resolved by comparing bytes. String and empty tensors are ignored.
 */
export function findDuplicateGroups(tensors: readonly { name: string; tensor: Tensor }[]): DuplicateGroup[] {
  const byKey = new Map<string, { name: string; tensor: Tensor }[]>();
  for (const nt of tensors) {
    const t = nt.tensor;
    if (t.dtype === 'string' || t.data.byteLength === 0) continue;
    const key = `${t.dtype}|${t.shape.join(',')}|${t.data.byteLength}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(nt);
  }
  const groups: DuplicateGroup[] = [];
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    const byHash = new Map<number, { name: string; tensor: Tensor }[][]>();
    for (const nt of list) {
      const h = hashBytes(nt.tensor.data);
      let classes = byHash.get(h);
      if (!classes) byHash.set(h, (classes = []));
      const same = classes.find((c) => sameBytes(c[0]!.tensor.data, nt.tensor.data));
      if (same) same.push(nt);
      else classes.push([nt]);
    }
    for (const classes of byHash.values()) {
      for (const c of classes) {
        if (c.length < 2) continue;
        const t = c[0]!.tensor;
        groups.push({
          names: c.map((x) => x.name),
          dtype: t.dtype,
          shape: [...t.shape],
          bytes: t.data.byteLength,
          wastedBytes: t.data.byteLength * (c.length - 1),
        });
      }
    }
  }
  return groups.sort((a, b) => b.wastedBytes - a.wastedBytes || (a.names[0]! < b.names[0]! ? -1 : 1));
}
