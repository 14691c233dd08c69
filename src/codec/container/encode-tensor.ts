/**
 * Chooses how to store one tensor payload: every applicable candidate
 * pipeline is encoded and the smallest kept. Candidates: raw; the generic
 * byte coder (within the file's budget for it); lz (non-float payloads); floatplanes (float32/16, bfloat16); and, when the tensor has
 * few distinct values (quantized, clustered, pruned), a codebook of those
 * values plus indices coded with Huffman, CABAC, or a sparse layout with
 * either as value coder. All are lossless by construction.
 */
import type { DType } from '../../core/dtypes.js';
import { dtypeTraits } from '../../core/dtypes.js';
import { fromBfloat16Bits, fromFloat16Bits } from '../../core/float16.js';
import { encodeBytes } from '../bytecoder.js';
import { byteEncoder, indexEncoder } from './coder-encoders.js';
import { CODER, CODER_NAMES, floatCoderFor } from './coders.js';
import { CHUNK_BYTES, MAX_GENERIC_BYTES } from './format.js';
import { genericWork } from './index-codec.js';

export interface EncodeTensorOptions {
  /** Raw bytes per chunk. Default 256 KiB (CHUNK_BYTES). */
  readonly chunkBytes?: number;
  /** Largest codebook tried (distinct values). Default 65536. */
  readonly maxCodebook?: number;
  /** The generic byte coder is tried on float tensors up to this many bytes (it is slower than floatplanes). Default 4096. */
  readonly genericFloatLimit?: number;
  /** The generic byte coder is tried on other tensors up to this many bytes. Default 1 MiB. */
  readonly genericLimit?: number;
  /** Element count, needed for 4-bit payloads with an odd count (default: two per byte). */
  readonly elementCount?: number;
  /** Restrict candidates to these coder names (CODER_NAMES, e.g. 'cabac', 'sparse+huffman'); raw is always kept as the fallback. Default: all. */
  readonly coders?: readonly string[];
  /**
   * The generic byte coder (context mixing) decodes at ~0.5 MB/s where the
   * others decode at 50-300 MB/s. On payloads over `slowCoderFreeBytes`
   * (default 16 KiB) it is chosen only when it is at least this fraction
   * smaller than the best other candidate. Default 0.05; 0 keeps the smallest.
   */
  readonly slowCoderMinGain?: number;
  readonly slowCoderFreeBytes?: number;
  /**
   * Bytes of generic-coder work (genericWork in index-codec.ts) this tensor
   * may still use: what the file has left of MAX_GENERIC_BYTES, the readers'
   * per-file limit. Candidates beyond it are not tried. Default MAX_GENERIC_BYTES.
   */
  readonly genericBudget?: number;
}

/** One encoded candidate: a coder (and codebook, if any) and its chunks. */
export interface EncodedTensor {
  /** Human label of the pipeline, e.g. 'floatplanes-f32' or 'codebook(16)+cabac'. */
  readonly label: string;
  readonly coder: number;
  readonly codebook?: { readonly entries: Uint8Array; readonly size: number; readonly center: number };
  readonly chunks: readonly { readonly count: number; readonly bytes: Uint8Array }[];
  /** Encoded size including chunk CRCs and codebook entries (bytes). */
  readonly size: number;
}

export interface TensorChoice {
  readonly best: EncodedTensor;
  /** Size of every candidate tried, by label (bytes). */
  readonly tried: Record<string, number>;
}

function sizeOf(chunks: readonly { bytes: Uint8Array }[], extra = 0): number {
  let s = extra;
  for (const c of chunks) s += c.bytes.length + 4;
  return s;
}

/** Splits `n` units into chunks of at most `per` and encodes each with `enc`. */
function chunked(n: number, per: number, enc: (start: number, end: number) => Uint8Array): { count: number; bytes: Uint8Array }[] {
  const out: { count: number; bytes: Uint8Array }[] = [];
  for (let start = 0; start < n; start += per) {
    const end = Math.min(n, start + per);
    out.push({ count: end - start, bytes: enc(start, end) });
  }
  return out;
}

/** `data` chunked and encoded by byte coder `coder`; a chunk the coder declines becomes empty (the caller drops the candidate). */
function directCandidate(data: Uint8Array, coder: number, chunkBytes: number, dtype?: string): EncodedTensor {
  const encode = byteEncoder(coder);
  const chunks = chunked(data.length, chunkBytes, (s, e) => encode(data.subarray(s, e), dtype) ?? new Uint8Array(0));
  return { label: CODER_NAMES[coder]!, coder, chunks, size: sizeOf(chunks) };
}

/** Numeric value of one element's raw bytes, for ordering a codebook (NaNs sort last). */
function numericKey(bytes: Uint8Array, at: number, dtype: DType | 'bytes', width: number): number | bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, width);
  switch (dtype) {
    case 'float32':
      return v.getFloat32(0, true);
    case 'float64':
      return v.getFloat64(0, true);
    case 'float16':
      return fromFloat16Bits(v.getUint16(0, true));
    case 'bfloat16':
      return fromBfloat16Bits(v.getUint16(0, true));
    case 'int8':
      return v.getInt8(0);
    case 'int16':
      return v.getInt16(0, true);
    case 'int32':
      return v.getInt32(0, true);
    case 'int64':
      return v.getBigInt64(0, true);
    case 'uint64':
      return v.getBigUint64(0, true);
    default:
      return width === 1
        ? v.getUint8(0)
        : width === 2
          ? v.getUint16(0, true)
          : width === 4
            ? v.getUint32(0, true)
            : v.getBigUint64(0, true);
  }
}

/** Raw element key for counting distinct values (bit patterns, so -0 and NaN payloads stay distinct). */
function elementKeys(data: Uint8Array, width: number): ArrayLike<number> | BigUint64Array {
  const a = data.byteOffset % width === 0 ? data : data.slice();
  if (width === 1) return a;
  if (width === 2) return new Uint16Array(a.buffer, a.byteOffset, a.length / 2);
  if (width === 4) return new Uint32Array(a.buffer, a.byteOffset, a.length / 4);
  return new BigUint64Array(a.buffer, a.byteOffset, a.length / 8);
}

interface Codebook {
  readonly entries: Uint8Array;
  readonly size: number;
  readonly center: number;
  /** Index of every element, ascending-value order. */
  readonly indices: Int32Array;
}

/** The distinct values of `data` (if at most `limit`) as an ascending codebook with per-element indices. */
export function buildCodebook(data: Uint8Array, dtype: DType | 'bytes', width: number, limit: number): Codebook | undefined {
  const keys = elementKeys(data, width);
  const n = keys.length;
  const firstAt = new Map<number | bigint, number>();
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!firstAt.has(k)) {
      if (firstAt.size >= limit) return undefined;
      firstAt.set(k, i);
    }
  }
  const distinct = [...firstAt.entries()].map(([key, at]) => ({ key, at, value: numericKey(data, at * width, dtype, width) }));
  distinct.sort((a, b) => compareValues(a.value, b.value) || compareValues(a.key, b.key));
  const size = distinct.length;
  const entries = new Uint8Array(size * width);
  const slot = new Map<number | bigint, number>();
  let center = 0;
  let best = Infinity;
  distinct.forEach((d, i) => {
    entries.set(data.subarray(d.at * width, d.at * width + width), i * width);
    slot.set(d.key, i);
    const mag = typeof d.value === 'bigint' ? (d.value < 0n ? -d.value : d.value) : Math.abs(d.value);
    const m = typeof mag === 'bigint' ? (mag > 1n << 52n ? Infinity : Number(mag)) : Number.isNaN(mag) ? Infinity : mag;
    // exact zero bit pattern wins ties, so sparse layouts see +0 as the filler
    if (m < best || (m === best && d.key === (typeof d.key === 'bigint' ? 0n : 0))) {
      best = m;
      center = i;
    }
  });
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = slot.get(keys[i]!)!;
  return { entries, size, center, indices };
}

function compareValues(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'bigint' || typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Element count of a packed 4-bit payload: given, or two per byte. */
function elementCountOf4Bit(data: Uint8Array, given: number | undefined): number {
  return given ?? data.length * 2;
}

/**
 * Codebook of the nibble values of a 4-bit payload (entries are nibbles,
 * ordered by signed value for int4). Undefined when an odd count leaves a
 * nonzero padding nibble, which the decoder would not restore.
 */
function nibbleCodebook(data: Uint8Array, signed: boolean, n: number): Codebook | undefined {
  if (n !== data.length * 2 && (n !== data.length * 2 - 1 || data[data.length - 1]! >> 4 !== 0)) return undefined;
  const values = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const v = (data[i >> 1]! >> ((i & 1) * 4)) & 15;
    values[i] = signed && v >= 8 ? v - 16 : v;
  }
  const cb = buildCodebook(new Uint8Array(values.buffer), signed ? 'int8' : 'uint8', 1, 16);
  if (!cb) return undefined;
  return { ...cb, entries: cb.entries.map((e) => e & 15) };
}

function codebookCandidates(cb: Codebook, width: number, chunkBytes: number): EncodedTensor[] {
  const { indices, size, center } = cb;
  const n = indices.length;
  const per = width === 0.5 ? chunkBytes * 2 : Math.max(1, Math.floor(chunkBytes / width));
  const book = { entries: cb.entries, size, center };
  const extra = cb.entries.length + 8;
  const out: EncodedTensor[] = [];
  const add = (coder: number): void => {
    const encode = indexEncoder(coder);
    // a chunk the coder cannot take (Huffman beyond 2^15 distinct indices) drops the candidate: cabac remains
    const chunks = chunked(n, per, (s, e) => encode(indices.subarray(s, e), size, center) ?? new Uint8Array(0));
    if (chunks.some((c) => c.bytes.length === 0)) return;
    out.push({ label: `codebook(${size})+${CODER_NAMES[coder]}`, coder, codebook: book, chunks, size: sizeOf(chunks, extra) });
  };
  add(CODER.huffman);
  add(CODER.cabac);
  let zeros = 0;
  for (let i = 0; i < n; i++) if (indices[i] === center) zeros++;
  if (zeros >= n * 0.3) {
    add(CODER.sparseHuffman);
    add(CODER.sparseCabac);
  }
  return out;
}

/** Encodes a tensor payload with every applicable pipeline and keeps the smallest. */
/** Bytes of a large payload the generic coder first tries on. */
const SAMPLE_BYTES = 32768;

export function encodeTensor(data: Uint8Array, dtype: DType | 'bytes', opts: EncodeTensorOptions = {}): TensorChoice {
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  const candidates: EncodedTensor[] = [directCandidate(data, CODER.raw, chunkBytes)];
  const floatCoder = floatCoderFor(dtype);
  const budget = opts.genericBudget ?? MAX_GENERIC_BYTES;
  // lz: wide-integer and opaque payloads (index arrays, shapes, token tables) up to 4 MiB; not on <= 8-bit
  // weights, whose codebook + Huffman already codes the order-0 statistics lz's literals would see
  const lzWorth = dtype === 'bytes' || dtype === 'bool' || (floatCoder === undefined && dtypeTraits(dtype).bits >= 16);
  if (lzWorth && data.length >= 64 && data.length <= 4 * (opts.genericLimit ?? 1024 * 1024))
    candidates.push(directCandidate(data, CODER.lz, chunkBytes));
  // the context-modelled floatplanes coder decodes at ~10 MB/s: like the generic coder it must win by slowCoderMinGain
  let slowFloat: EncodedTensor | undefined;
  if (floatCoder !== undefined) {
    if (data.length >= 64) candidates.push(directCandidate(data, CODER.fastFloat, chunkBytes, dtype));
    slowFloat = directCandidate(data, floatCoder, chunkBytes);
    if (dtype === 'float32' && genericWork(CODER.signlzF32, chunkBytes) * Math.ceil(data.length / chunkBytes) <= budget) {
      // signlz only where magnitudes repeat: it declines (empty chunk) a chunk without enough matches
      const lz = directCandidate(data, CODER.signlzF32, chunkBytes);
      if (lz.chunks.length > 0 && lz.chunks.every((c) => c.bytes.length > 0)) candidates.push(lz);
    }
  }
  const bits = dtype === 'bytes' ? 8 : dtypeTraits(dtype).bits;
  const width = bits % 8 === 0 ? bits / 8 : 0;
  if (bits === 4 && data.length >= 4) {
    const cb = nibbleCodebook(data, dtype === 'int4' || dtype === 'float4e2m1', elementCountOf4Bit(data, opts.elementCount));
    if (cb) candidates.push(...codebookCandidates(cb, 0.5, chunkBytes));
  } else if (width > 0 && data.length >= 4 * width) {
    const n = data.length / width;
    const cb = buildCodebook(data, dtype, width, Math.min(opts.maxCodebook ?? 65536, Math.max(1, Math.floor(n / 2))));
    if (cb) candidates.push(...codebookCandidates(cb, width, chunkBytes));
  }
  const allowed = (coder: number) => coder === CODER.raw || !opts.coders || opts.coders.includes(CODER_NAMES[coder]!);
  const tried: Record<string, number> = {};
  let best = candidates[0]!;
  for (const c of candidates) {
    if (!allowed(c.coder)) continue;
    tried[c.label] = c.size;
    if (c.size < best.size) best = c;
  }
  const slowGain = (n: number): number => (n > (opts.slowCoderFreeBytes ?? 16384) ? (opts.slowCoderMinGain ?? 0.05) : 0);
  if (slowFloat && allowed(slowFloat.coder)) {
    tried[slowFloat.label] = slowFloat.size;
    // no small-payload exemption here: fastfloat is close on every size, and many small tensors add up to decode time
    if (slowFloat.size < best.size * (1 - (opts.slowCoderMinGain ?? 0.05))) best = slowFloat;
  }
  // the generic coder last: it is the slow one to run and to decode
  const genericLimit = floatCoder !== undefined ? (opts.genericFloatLimit ?? 4096) : (opts.genericLimit ?? 1024 * 1024);
  if (data.length <= genericLimit && data.length <= budget && allowed(CODER.bytes)) {
    const gain = slowGain(data.length);
    // on a large payload, a 32 KiB sample tells whether the full run can win by `gain` at all
    // (2% slack: the adaptive models pay their learning cost within the sample, not over the whole payload)
    const sample = data.length > 2 * SAMPLE_BYTES ? data.subarray(0, SAMPLE_BYTES) : undefined;
    const promising = gain === 0 || !sample || (encodeBytes(sample).length * data.length) / sample.length < best.size * (1 - gain) * 1.02;
    if (promising) {
      const slow = directCandidate(data, CODER.bytes, chunkBytes);
      tried[slow.label] = slow.size;
      if (slow.size < best.size * (1 - gain)) best = slow;
    }
  }
  return { best, tried };
}
