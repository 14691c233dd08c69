/**
 * Decodes one checksummed chunk of an .mpz stream straight into the output
 * buffer. Shared by the whole-buffer reader, random access and streaming.
 * The chunk's CRC32C has been verified before any decoder sees its bytes.
 */
import { ModelpressError, fail } from '../../core/errors.js';
import { decodeBytes } from '../bytecoder.js';
import { decodeIntsCabac } from '../cabac.js';
import { decodeFloats } from '../floatplanes.js';
import { decodeHuffman } from '../huffman.js';
import { decodeSparse, sparseValueCount } from '../sparse.js';
import { ByteReader } from '../bytes.js';
import { CODER, CODER_NAMES } from './format.js';
import { decodeSignLz } from './signlz.js';
import type { Encoding } from './index-codec.js';

/** Decodes a byte-producing chunk (raw, generic bytes, floatplanes) of `count` bytes. */
export function decodeByteChunk(coder: number, encoded: Uint8Array, count: number): Uint8Array {
  let out: Uint8Array;
  switch (coder) {
    case CODER.raw:
      if (encoded.length !== count) fail('E_CORRUPT', `raw chunk holds ${encoded.length} bytes, expected ${count}`);
      return encoded;
    case CODER.bytes:
      out = decodeBytes(encoded, count);
      break;
    case CODER.floatF32:
      out = decodeFloats(encoded, 'float32', count);
      break;
    case CODER.floatF16:
      out = decodeFloats(encoded, 'float16', count);
      break;
    case CODER.floatBF16:
      out = decodeFloats(encoded, 'bfloat16', count);
      break;
    case CODER.signlzF32:
      out = decodeSignLz(encoded, count);
      break;
    default:
      return fail('E_CORRUPT', `coder ${CODER_NAMES[coder] ?? coder} does not produce bytes`);
  }
  if (out.length !== count) fail('E_CORRUPT', `${CODER_NAMES[coder]} chunk decoded to ${out.length} bytes, expected ${count}`);
  return out;
}

/**
 * Decodes `count` codebook indices. Signed coders (cabac, sparse) carry
 * `index - center`; the result is validated against the codebook size.
 */
export function decodeIndexChunk(coder: number, encoded: Uint8Array, count: number, size: number, center: number): Int32Array | Uint8Array | Uint16Array | Uint32Array {
  let idx: Int32Array | Uint8Array | Uint16Array | Uint32Array;
  switch (coder) {
    case CODER.huffman:
      idx = decodeHuffman(encoded, count);
      break;
    case CODER.cabac: {
      const v = decodeIntsCabac(encoded, count);
      for (let i = 0; i < v.length; i++) v[i] = v[i]! + center;
      idx = v;
      break;
    }
    case CODER.sparseHuffman:
    case CODER.sparseCabac: {
      const r = new ByteReader(encoded, 'sparse chunk');
      const positions = r.bytesView(r.varuint());
      const valueBytes = r.bytesView(r.remaining);
      const nValues = sparseValueCount(positions, count);
      let values: Int32Array;
      if (coder === CODER.sparseCabac) values = decodeIntsCabac(valueBytes, nValues);
      else {
        const sym = decodeHuffman(valueBytes, nValues);
        values = new Int32Array(nValues);
        for (let i = 0; i < nValues; i++) values[i] = sym[i]! - center;
      }
      const dense = decodeSparse(positions, values, count) as Int32Array;
      for (let i = 0; i < dense.length; i++) dense[i] = dense[i]! + center;
      idx = dense;
      break;
    }
    default:
      return fail('E_CORRUPT', `coder ${CODER_NAMES[coder] ?? coder} does not produce indices`);
  }
  if (idx.length !== count) fail('E_CORRUPT', `${CODER_NAMES[coder]} chunk decoded to ${idx.length} indices, expected ${count}`);
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    if (k < 0 || k >= size) fail('E_CORRUPT', `codebook index ${k} at element ${i} outside 0..${size - 1}`);
  }
  return idx;
}

/** Writes codebook entries for `idx` into `out` at byte `at`; `width` bytes per element (0.5: 4-bit elements, low nibble first). */
export function expandCodebook(idx: ArrayLike<number>, entries: Uint8Array, width: number, out: Uint8Array, at: number): void {
  const n = idx.length;
  if (width === 0.5) {
    // `at` is a byte position: chunks of 4-bit elements start on even elements
    for (let i = 0; i < n; i++) {
      const p = at + (i >> 1);
      out[p] = (i & 1) === 0 ? entries[idx[i]!]! : out[p]! | (entries[idx[i]!]! << 4);
    }
    return;
  }
  if (width === 1) {
    for (let i = 0; i < n; i++) out[at + i] = entries[idx[i]!]!;
    return;
  }
  for (let i = 0; i < n; i++) {
    const src = idx[i]! * width;
    const dst = at + i * width;
    for (let b = 0; b < width; b++) out[dst + b] = entries[src + b]!;
  }
}

/**
 * Decodes chunk `encoded` of `encoding` (a direct or codebook tensor stream)
 * covering units [unitStart, unitStart + count) into `out` at the tensor's `base`.
 */
export function decodeTensorChunk(encoding: Encoding, width: number, encoded: Uint8Array, count: number, unitStart: number, out: Uint8Array, base: number): void {
  if (encoding.kind === 'direct') {
    out.set(decodeByteChunk(encoding.stream.coder, encoded, count), base + unitStart);
  } else if (encoding.kind === 'codebook') {
    const idx = decodeIndexChunk(encoding.stream.coder, encoded, count, encoding.size, encoding.center);
    expandCodebook(idx, encoding.entries, width, out, base + (width === 0.5 ? unitStart >> 1 : unitStart * width));
  }
}

/** Re-throws a decoder failure naming where it happened; non-modelpress errors from a decoder become E_CORRUPT. */
export function rethrowAt(e: unknown, where: string, file?: string): never {
  if (e instanceof ModelpressError) throw new ModelpressError(e.code, `${where}: ${e.message}`, { ...(file === undefined ? {} : { file }), cause: e });
  throw new ModelpressError('E_CORRUPT', `${where}: decoder failed: ${e instanceof Error ? e.message : String(e)}`, { ...(file === undefined ? {} : { file }), cause: e });
}
