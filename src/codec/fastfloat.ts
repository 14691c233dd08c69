import { ModelpressError } from '../core/errors.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { decodeHuffman, encodeHuffman } from './huffman.js';

/**
 * Fast lossless float coding (container coder `fastfloat`, id 11): one chunk
 * of float32 / float16 / bfloat16 elements split into byte-wide field planes,
 * each stored raw or as one canonical Huffman stream (huffman.ts, decoded by
 * the table-driven decoder of huffman-fast-decode.ts). No adaptive model: the
 * decoder is table lookups and one join loop, hundreds of MB/s, where the
 * context-modelled floatplanes coder (floatplanes.ts) decodes at ~10 MB/s for
 * 1-3% more ratio.
 *
 * Planes (bit-exact: NaN payloads, -0, subnormals, infinities round-trip):
 *   float32:  exp (8 bits) | sign + mantissa[22..16] | mantissa[15..8] | mantissa[7..0]
 *   bfloat16: exp (8 bits) | sign + mantissa[6..0]
 *   float16:  high byte (sign, exp, mantissa[9..8]) | low byte
 *
 * Chunk layout:
 *   u8 dtype code: 1 float32, 2 float16, 3 bfloat16 (anything else E_CORRUPT)
 *   per plane, in order: u8 mode (0 raw: n bytes follow; 1 Huffman: varuint length, then a
 *     Huffman stream of n symbols of the 256-symbol alphabet); other modes E_CORRUPT
 *   the chunk MUST end after the last plane. n = count / element bytes.
 */
export type FastFloatDType = 'float32' | 'float16' | 'bfloat16';

const DTYPE_CODE: Record<FastFloatDType, number> = { float32: 1, float16: 2, bfloat16: 3 };
const CODE_DTYPE: readonly (FastFloatDType | undefined)[] = [undefined, 'float32', 'float16', 'bfloat16'];
const PLANE_RAW = 0;
const PLANE_HUFFMAN = 1;
/**
 * A plane is Huffman-coded only when that saves this fraction of its raw
 * bytes: near-uniform low mantissa bytes are stored raw (copy speed) rather
 * than decoded symbol by symbol for a fraction of a percent.
 */
const MIN_PLANE_GAIN = 0.02;

function widthOf(dtype: FastFloatDType): number {
  return dtype === 'float32' ? 4 : 2;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function split(bytes: Uint8Array, dtype: FastFloatDType): Uint8Array[] {
  const w = widthOf(dtype);
  const n = bytes.length / w;
  if (dtype === 'float32') {
    const exp = new Uint8Array(n);
    const hi = new Uint8Array(n);
    const mid = new Uint8Array(n);
    const lo = new Uint8Array(n);
    for (let i = 0, p = 0; i < n; i++, p += 4) {
      const b2 = bytes[p + 2]!;
      const b3 = bytes[p + 3]!;
      lo[i] = bytes[p]!;
      mid[i] = bytes[p + 1]!;
      exp[i] = ((b3 & 0x7f) << 1) | (b2 >>> 7);
      hi[i] = (b3 & 0x80) | (b2 & 0x7f);
    }
    return [exp, hi, mid, lo];
  }
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 2) {
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    if (dtype === 'bfloat16') {
      a[i] = ((b1 & 0x7f) << 1) | (b0 >>> 7);
      b[i] = (b1 & 0x80) | (b0 & 0x7f);
    } else {
      a[i] = b1;
      b[i] = b0;
    }
  }
  return [a, b];
}

/** Encodes one chunk of `dtype` elements (little-endian bytes, a whole number of elements). */
export function encodeFastFloat(bytes: Uint8Array, dtype: FastFloatDType): Uint8Array {
  const w = widthOf(dtype);
  if (bytes.length % w !== 0)
    throw new ModelpressError('E_ARG', `fastfloat: ${bytes.length} bytes are not a whole number of ${dtype} elements`);
  const planes = split(bytes, dtype);
  const n = bytes.length / w;
  const out = new ByteWriter(bytes.length + 16);
  out.u8(DTYPE_CODE[dtype]);
  for (const plane of planes) {
    const coded = n >= 64 ? encodeHuffman(plane, 256) : undefined;
    if (coded && coded.length + 5 < n * (1 - MIN_PLANE_GAIN)) {
      out.u8(PLANE_HUFFMAN);
      out.varuint(coded.length);
      out.bytes(coded);
    } else {
      out.u8(PLANE_RAW);
      out.bytes(plane);
    }
  }
  return out.finish();
}

function readPlane(r: ByteReader, n: number, what: string): Uint8Array {
  const mode = r.u8();
  if (mode === PLANE_RAW) return r.bytesView(n);
  if (mode !== PLANE_HUFFMAN) throw new ModelpressError('E_CORRUPT', `${what}: unknown plane mode ${mode}`);
  const len = r.varuint();
  return decodeHuffman(r.bytesView(len), n) as Uint8Array;
}

/** Decodes one chunk of `count` bytes. */
export function decodeFastFloat(encoded: Uint8Array, count: number): Uint8Array {
  const what = 'fastfloat chunk';
  const r = new ByteReader(encoded, what);
  const dtype = CODE_DTYPE[r.u8()];
  if (dtype === undefined) throw new ModelpressError('E_CORRUPT', `${what}: unknown dtype code ${encoded[0]}`);
  const w = widthOf(dtype);
  if (count % w !== 0) throw new ModelpressError('E_CORRUPT', `${what}: ${count} bytes are not a whole number of ${dtype} elements`);
  const n = count / w;
  const planes: Uint8Array[] = [];
  for (let p = 0; p < (dtype === 'float32' ? 4 : 2); p++) planes.push(readPlane(r, n, what));
  if (r.remaining !== 0) throw new ModelpressError('E_CORRUPT', `${what}: ${r.remaining} bytes after the last plane`);
  const out = new Uint8Array(count);
  if (dtype === 'float32') {
    const [exp, hi, mid, lo] = planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    if (LITTLE_ENDIAN) joinF32(exp, hi, mid, lo, new Uint32Array(out.buffer, 0, n), n);
    else joinF32Bytes(exp, hi, mid, lo, out, n);
  } else if (dtype === 'bfloat16') joinBf16(planes[0]!, planes[1]!, out, n);
  else joinF16(planes[0]!, planes[1]!, out, n);
  return out;
}

// Join loops as small monomorphic functions: V8 optimizes each on its own.

function joinF32(exp: Uint8Array, hi: Uint8Array, mid: Uint8Array, lo: Uint8Array, o32: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = hi[i]!;
    o32[i] = ((h & 0x80) << 24) | (exp[i]! << 23) | ((h & 0x7f) << 16) | (mid[i]! << 8) | lo[i]!;
  }
}

function joinF32Bytes(exp: Uint8Array, hi: Uint8Array, mid: Uint8Array, lo: Uint8Array, out: Uint8Array, n: number): void {
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    const e = exp[i]!;
    const h = hi[i]!;
    out[p] = lo[i]!;
    out[p + 1] = mid[i]!;
    out[p + 2] = ((e & 1) << 7) | (h & 0x7f);
    out[p + 3] = (h & 0x80) | (e >>> 1);
  }
}

function joinBf16(exp: Uint8Array, hi: Uint8Array, out: Uint8Array, n: number): void {
  for (let i = 0, p = 0; i < n; i++, p += 2) {
    const e = exp[i]!;
    const h = hi[i]!;
    out[p] = ((e & 1) << 7) | (h & 0x7f);
    out[p + 1] = (h & 0x80) | (e >>> 1);
  }
}

function joinF16(high: Uint8Array, low: Uint8Array, out: Uint8Array, n: number): void {
  for (let i = 0, p = 0; i < n; i++, p += 2) {
    out[p] = low[i]!;
    out[p + 1] = high[i]!;
  }
}
