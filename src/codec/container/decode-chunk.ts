/**
 * Decodes one checksummed chunk of an .mpz stream straight into the output
 * buffer. Shared by the whole-buffer reader, random access and streaming.
 * The chunk's CRC32C has been verified before any decoder sees its bytes.
 */
import { ModelpressError, fail } from '../../core/errors.js';
import { CODER_NAMES, coderTraits, type IndexArray } from './coders.js';
import type { Encoding } from './index-codec.js';

/** Decodes a byte-producing chunk (raw, generic bytes, floatplanes, signlz) of `count` bytes. */
export function decodeByteChunk(coder: number, encoded: Uint8Array, count: number): Uint8Array {
  const c = coderTraits(coder);
  if (c?.output !== 'bytes') return fail('E_CORRUPT', `coder ${CODER_NAMES[coder] ?? coder} does not produce bytes`);
  const out = c.decode(encoded, count);
  if (out.length !== count) fail('E_CORRUPT', `${c.name} chunk decoded to ${out.length} bytes, expected ${count}`);
  return out;
}

/**
 * Decodes `count` codebook indices. Signed coders (cabac, sparse) carry
 * `index - center`; the result is validated against the codebook size.
 */
export function decodeIndexChunk(coder: number, encoded: Uint8Array, count: number, size: number, center: number): IndexArray {
  const c = coderTraits(coder);
  if (c?.output !== 'indices') return fail('E_CORRUPT', `coder ${CODER_NAMES[coder] ?? coder} does not produce indices`);
  const idx = c.decode(encoded, count, center);
  if (idx.length !== count) fail('E_CORRUPT', `${c.name} chunk decoded to ${idx.length} indices, expected ${count}`);
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
export function decodeTensorChunk(
  encoding: Encoding,
  width: number,
  encoded: Uint8Array,
  count: number,
  unitStart: number,
  out: Uint8Array,
  base: number,
): void {
  if (encoding.kind === 'direct') {
    out.set(decodeByteChunk(encoding.stream.coder, encoded, count), base + unitStart);
  } else if (encoding.kind === 'codebook') {
    const idx = decodeIndexChunk(encoding.stream.coder, encoded, count, encoding.size, encoding.center);
    expandCodebook(idx, encoding.entries, width, out, base + (width === 0.5 ? unitStart >> 1 : unitStart * width));
  }
}

/** Re-throws a decoder failure naming where it happened; non-modelpress errors from a decoder become E_CORRUPT. */
export function rethrowAt(e: unknown, where: string, file?: string): never {
  if (e instanceof ModelpressError)
    throw new ModelpressError(e.code, `${where}: ${e.message}`, { ...(file === undefined ? {} : { file }), cause: e });
  throw new ModelpressError('E_CORRUPT', `${where}: decoder failed: ${e instanceof Error ? e.message : String(e)}`, {
    ...(file === undefined ? {} : { file }),
    cause: e,
  });
}
