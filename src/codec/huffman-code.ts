import { ModelpressError } from '../core/errors.js';

/** Code construction for canonical Huffman codes: optimal length-limited lengths and canonical code values. */
export const MAX_CODE_BITS = 15;
/** Most used symbols a code of MAX_CODE_BITS can hold; writers check `huffmanCodable` and pick another coder beyond it. */
export const MAX_CODED_SYMBOLS = 1 << MAX_CODE_BITS;

/**
 * Optimal length-limited code lengths by package-merge. Symbols with zero
 * frequency get length 0; a single used symbol gets length 1.
 */
export function huffmanCodeLengths(freqs: ArrayLike<number>, maxBits = MAX_CODE_BITS): Uint8Array {
  const n = freqs.length;
  const lengths = new Uint8Array(n);
  const used: number[] = [];
  for (let s = 0; s < n; s++) if (freqs[s]! > 0) used.push(s);
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0]!] = 1;
    return lengths;
  }
  if (used.length > 2 ** maxBits)
    throw new ModelpressError(
      'E_LIMIT',
      `huffman: ${used.length} used symbols cannot fit in ${maxBits}-bit codes (at most ${2 ** maxBits})`,
    );
  used.sort((a, b) => freqs[a]! - freqs[b]! || a - b);
  const m = used.length;
  const leafWeights = new Float64Array(m);
  for (let i = 0; i < m; i++) leafWeights[i] = freqs[used[i]!]!;
  // kinds[level][i] = leaf index (>= 0) or -1 for a package of two items of the level below.
  const kinds: Int32Array[] = [];
  let prevWeights = leafWeights;
  let prevKinds = new Int32Array(m).map((_, i) => i);
  kinds.push(prevKinds);
  for (let level = 1; level < maxBits; level++) {
    const packages = prevWeights.length >> 1;
    const weights = new Float64Array(m + packages);
    const kind = new Int32Array(m + packages);
    let li = 0;
    let pi = 0;
    let o = 0;
    while (li < m || pi < packages) {
      const pw = pi < packages ? prevWeights[2 * pi]! + prevWeights[2 * pi + 1]! : Infinity;
      if (li < m && leafWeights[li]! <= pw) {
        weights[o] = leafWeights[li]!;
        kind[o++] = li++;
      } else {
        weights[o] = pw;
        kind[o++] = -1;
        pi++;
      }
    }
    kinds.push(kind);
    prevWeights = weights;
    prevKinds = kind;
  }
  // Expand the first 2m-2 items of the last list; every leaf occurrence adds one bit.
  let selected = 2 * m - 2;
  for (let level = kinds.length - 1; level >= 0 && selected > 0; level--) {
    const kind = kinds[level]!;
    let packagesSelected = 0;
    for (let i = 0; i < selected; i++) {
      const k = kind[i]!;
      if (k >= 0) lengths[used[k]!]!++;
      else packagesSelected++;
    }
    selected = 2 * packagesSelected;
  }
  return lengths;
}

/** Canonical codes (MSB-first values) for the given lengths; 0 where length is 0. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const blCount = new Uint32Array(MAX_CODE_BITS + 1);
  for (let s = 0; s < lengths.length; s++) blCount[lengths[s]!]!++;
  blCount[0] = 0;
  const next = new Uint32Array(MAX_CODE_BITS + 2);
  let code = 0;
  for (let bits = 1; bits <= MAX_CODE_BITS; bits++) {
    code = (code + blCount[bits - 1]!) << 1;
    next[bits] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len > 0) codes[s] = next[len]!++;
  }
  return codes;
}

function reverseBits(value: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    r = (r << 1) | (value & 1);
    value >>>= 1;
  }
  return r;
}

/** Codes bit-reversed for LSB-first emission. */
export function reversedCodes(lengths: Uint8Array): Uint32Array {
  const codes = canonicalCodes(lengths);
  for (let s = 0; s < codes.length; s++) if (lengths[s]! > 0) codes[s] = reverseBits(codes[s]!, lengths[s]!);
  return codes;
}
