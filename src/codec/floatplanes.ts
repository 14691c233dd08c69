import { ModelpressError } from '../core/errors.js';
import { BinaryDecoder, BinaryEncoder, decodeSymbolTree, encodeSymbolTree, newContexts } from './arith.js';
import { ByteReader, ByteWriter } from './bytes.js';
import type { FloatDType, Layout, PlaneSpec } from './floatfields.js';
import { joinPlanes, layoutOf, packBits, splitPlanes, unpackBits } from './floatfields.js';

/**
 * Lossless coding of float32 / float16 / bfloat16 arrays (little-endian bytes)
 * by fields, in independent chunks.
 *
 * Each element is split into planes (all bit-exact, so NaN payloads, -0,
 * subnormals and infinities round-trip):
 *   float32:  exp (8 bits) | sign+mantissa[22..16] (8) | mantissa[15..8] (8) | mantissa[7..0] (8)
 *   bfloat16: exp (8)      | sign+mantissa[6..0] (8)
 *   float16:  exp (5)      | sign+mantissa[9..8] (3)  | mantissa[7..0] (8)
 * The exponent plane is coded with an adaptive binary-tree model conditioned on
 * the previous element's exponent (weights of a tensor share a scale), the
 * sign+high-mantissa plane conditioned on the element's exponent, the rest
 * order-0. A plane whose coded form is not smaller than its raw bytes is stored raw.
 *
 * Stream (kept small: the container codes many tiny tensors one by one):
 *   u8 head: bits 0-1 dtype code (1 float32, 2 float16, 3 bfloat16); bit 2 set when a
 *      varuint chunkBytes follows (else 262144); bits 3-7 zero
 *   [varuint chunkBytes]  input bytes per chunk, a multiple of the element size
 *   (chunkCount - 1) x varuint encoded chunk length; chunkCount = ceil(byteLength / chunkBytes)
 *      is known to the decoder and the last chunk takes the remaining bytes
 *   chunks: u8 plane modes, 2 bits per plane (plane p in bits 2p..2p+1: 0 raw, 1 coded with its
 *      context, 2 coded order-0; 3 and unused bits are invalid), then a varuint length for every
 *      coded plane but the last, then the plane bodies in order. A raw plane holds
 *      ceil(n * bits / 8) bytes (symbols packed MSB-first); the last plane ends the chunk.
 * Chunks are independent: a decoder can decode them in any order or in parallel.
 */
export type { FloatDType };

export interface FloatCodingOptions {
  /** Input bytes per independent chunk; rounded down to whole elements. Default 262144 (256 KiB). */
  chunkBytes?: number;
}

const DTYPE_CODES: Record<FloatDType, number> = { float32: 1, float16: 2, bfloat16: 3 };
const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Head-byte flag: a varuint chunk size follows. */
const CUSTOM_CHUNK_FLAG = 4;
const MODE_RAW = 0;
/** Coded with the plane's context (previous value or exponent). */
const MODE_CODED = 1;
/** Coded order-0: learns faster, so small planes sometimes prefer it. */
const MODE_CODED_ORDER0 = 2;
/** Planes up to this many elements also try order-0 and keep the smaller. */
const TRY_ORDER0_MAX = 32768;

/** Order-0 entropy in bits per symbol: a near-uniform unconditioned plane is stored raw without trying. */
function order0Entropy(plane: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < plane.length; i++) hist[plane[i]!]!++;
  let h = 0;
  for (let s = 0; s < 256; s++) {
    const c = hist[s]!;
    if (c > 0) h -= c * Math.log2(c / plane.length);
  }
  return h / Math.max(1, plane.length);
}

function contextCount(spec: PlaneSpec, expBits: number): number {
  return spec.context === 'none' ? 1 : spec.context === 'previous' ? 1 << spec.bits : 1 << expBits;
}

function encodePlane(plane: Uint8Array, spec: PlaneSpec, exps: Uint8Array, expBits: number): Uint8Array {
  const probs = newContexts(contextCount(spec, expBits) << spec.bits);
  const enc = new BinaryEncoder(plane.length);
  const nbits = spec.bits;
  let prev = 0;
  for (let i = 0; i < plane.length; i++) {
    const sym = plane[i]!;
    const ctx = spec.context === 'none' ? 0 : spec.context === 'previous' ? prev : exps[i]!;
    encodeSymbolTree(enc, probs, ctx << nbits, nbits, sym);
    prev = sym;
  }
  return enc.finish();
}

function decodePlane(
  bytes: Uint8Array,
  start: number,
  end: number,
  n: number,
  spec: PlaneSpec,
  exps: Uint8Array,
  expBits: number,
  what: string,
): Uint8Array {
  const probs = newContexts(contextCount(spec, expBits) << spec.bits);
  const dec = new BinaryDecoder(bytes, what, start, end);
  const nbits = spec.bits;
  const out = new Uint8Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const ctx = spec.context === 'none' ? 0 : spec.context === 'previous' ? prev : exps[i]!;
    prev = decodeSymbolTree(dec, probs, ctx << nbits, nbits);
    out[i] = prev;
  }
  dec.checkEnd();
  return out;
}

function encodeChunk(bytes: Uint8Array, start: number, n: number, dtype: FloatDType, layout: Layout): Uint8Array {
  const planes = splitPlanes(bytes, start, n, dtype);
  const exps = planes[0]!;
  let modes = 0;
  const bodies: Uint8Array[] = [];
  layout.planes.forEach((spec, p) => {
    const plane = planes[p]!;
    const rawBytes = Math.ceil((plane.length * spec.bits) / 8);
    let coded: Uint8Array | undefined;
    let mode = MODE_CODED;
    if (spec.context !== 'none' || order0Entropy(plane) < spec.bits - 0.05) coded = encodePlane(plane, spec, exps, layout.expBits);
    if (spec.context !== 'none' && plane.length <= TRY_ORDER0_MAX) {
      const order0 = encodePlane(plane, { bits: spec.bits, context: 'none' }, exps, layout.expBits);
      if (!coded || order0.length < coded.length) {
        coded = order0;
        mode = MODE_CODED_ORDER0;
      }
    }
    if (coded && coded.length < rawBytes) {
      modes |= mode << (2 * p);
      bodies.push(coded);
    } else bodies.push(packBits(plane, spec.bits));
  });
  const w = new ByteWriter(16 + bodies.reduce((a, b) => a + b.length, 0));
  w.u8(modes);
  bodies.forEach((body, p) => {
    if (p < bodies.length - 1 && ((modes >> (2 * p)) & 3) !== MODE_RAW) w.varuint(body.length);
  });
  for (const body of bodies) w.bytes(body);
  return w.finish();
}

function checkChunkBytes(chunkBytes: number, elementBytes: number): number {
  if (!Number.isInteger(chunkBytes) || chunkBytes < elementBytes)
    throw new ModelpressError('E_ARG', `float coder: chunkBytes ${chunkBytes} is smaller than one element (${elementBytes} bytes)`);
  return chunkBytes - (chunkBytes % elementBytes);
}

/** Encodes little-endian float bytes losslessly. */
export function encodeFloats(bytes: Uint8Array, dtype: FloatDType, options: FloatCodingOptions = {}): Uint8Array {
  const layout = layoutOf(dtype);
  if (bytes.length % layout.elementBytes !== 0)
    throw new ModelpressError('E_ARG', `float coder: ${bytes.length} bytes is not a whole number of ${dtype} elements`);
  const chunkBytes = checkChunkBytes(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, layout.elementBytes);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += chunkBytes) {
    const n = Math.min(chunkBytes, bytes.length - start) / layout.elementBytes;
    chunks.push(encodeChunk(bytes, start, n, dtype, layout));
  }
  const w = new ByteWriter(64 + chunks.reduce((a, c) => a + c.length, 0));
  const custom = chunkBytes !== DEFAULT_CHUNK_BYTES;
  w.u8(DTYPE_CODES[dtype] | (custom ? CUSTOM_CHUNK_FLAG : 0));
  if (custom) w.varuint(chunkBytes);
  for (let c = 0; c < chunks.length - 1; c++) w.varuint(chunks[c]!.length);
  for (const c of chunks) w.bytes(c);
  return w.finish();
}

interface ChunkTable {
  chunkBytes: number;
  offsets: number[];
  lengths: number[];
}

function readChunkTable(encoded: Uint8Array, dtype: FloatDType, byteLength: number, what: string): ChunkTable {
  const layout = layoutOf(dtype);
  if (!Number.isSafeInteger(byteLength) || byteLength < 0 || byteLength % layout.elementBytes !== 0)
    throw new ModelpressError('E_ARG', `${what}: byteLength ${byteLength} is not a whole number of ${dtype} elements`);
  const r = new ByteReader(encoded, what);
  const head = r.u8();
  if ((head & 3) !== DTYPE_CODES[dtype])
    throw new ModelpressError('E_CORRUPT', `${what}: dtype code ${head & 3} at offset 0 does not match ${dtype}`);
  if (head >> 3 !== 0) throw new ModelpressError('E_CORRUPT', `${what}: reserved bits set in head byte 0x${head.toString(16)}`);
  const chunkBytes = head & CUSTOM_CHUNK_FLAG ? r.varuint() : DEFAULT_CHUNK_BYTES;
  if (chunkBytes < layout.elementBytes || chunkBytes % layout.elementBytes !== 0)
    throw new ModelpressError('E_CORRUPT', `${what}: chunk size ${chunkBytes} is not a positive multiple of ${layout.elementBytes}`);
  const chunkCount = Math.ceil(byteLength / chunkBytes);
  const lengths: number[] = [];
  for (let i = 0; i < chunkCount - 1; i++) lengths.push(r.varuint());
  const offsets: number[] = [];
  let offset = r.pos;
  for (let i = 0; i < chunkCount - 1; i++) {
    offsets.push(offset);
    offset += lengths[i]!;
  }
  if (offset > encoded.length)
    throw new ModelpressError('E_TRUNCATED', `${what}: chunks end at byte ${offset}, stream has ${encoded.length}`);
  if (chunkCount > 0) {
    offsets.push(offset);
    lengths.push(encoded.length - offset);
  } else if (offset < encoded.length)
    throw new ModelpressError('E_CORRUPT', `${what}: ${encoded.length - offset} trailing bytes in an empty stream`);
  return { chunkBytes, offsets, lengths };
}

function decodeChunk(
  encoded: Uint8Array,
  start: number,
  end: number,
  n: number,
  dtype: FloatDType,
  out: Uint8Array,
  outStart: number,
  what: string,
): void {
  const layout = layoutOf(dtype);
  const r = new ByteReader(encoded, what, start, end);
  const count = layout.planes.length;
  const modes = r.u8();
  if (modes >> (2 * count) !== 0)
    throw new ModelpressError('E_CORRUPT', `${what}: plane mode byte 0x${modes.toString(16)} at offset ${start} has unused bits set`);
  const lengths = layout.planes.map((spec, p) => {
    const mode = (modes >> (2 * p)) & 3;
    if (mode === 3) throw new ModelpressError('E_CORRUPT', `${what}: plane ${p} has the invalid mode 3`);
    if (mode === MODE_RAW) return Math.ceil((n * spec.bits) / 8);
    return p < count - 1 ? r.varuint() : -1; // the last plane takes the rest
  });
  const planes: Uint8Array[] = [];
  let exps: Uint8Array = new Uint8Array(0);
  layout.planes.forEach((spec, p) => {
    const mode = (modes >> (2 * p)) & 3;
    const length = lengths[p]! >= 0 ? lengths[p]! : r.remaining;
    const at = r.pos;
    const body = r.bytesView(length);
    if (mode === MODE_RAW) planes.push(unpackBits(body, n, spec.bits));
    else {
      const used: PlaneSpec = mode === MODE_CODED ? spec : { bits: spec.bits, context: 'none' };
      planes.push(decodePlane(encoded, at, at + length, n, used, exps, layout.expBits, `${what} plane ${p}`));
    }
    if (p === 0) exps = planes[0]!;
  });
  if (r.pos !== end) throw new ModelpressError('E_CORRUPT', `${what}: ${end - r.pos} unexpected bytes after the planes`);
  joinPlanes(planes, out, outStart, n, dtype);
}

/** Yields the decoded bytes chunk by chunk (each at most chunkBytes long). */
export function* decodeFloatsChunks(encoded: Uint8Array, dtype: FloatDType, byteLength: number): Generator<Uint8Array> {
  const what = `${dtype} plane stream`;
  const table = readChunkTable(encoded, dtype, byteLength, what);
  const elementBytes = layoutOf(dtype).elementBytes;
  for (let c = 0; c < table.offsets.length; c++) {
    const size = Math.min(table.chunkBytes, byteLength - c * table.chunkBytes);
    const out = new Uint8Array(size);
    decodeChunk(
      encoded,
      table.offsets[c]!,
      table.offsets[c]! + table.lengths[c]!,
      size / elementBytes,
      dtype,
      out,
      0,
      `${what} chunk ${c}`,
    );
    yield out;
  }
}

/** Decodes a whole stream back to `byteLength` little-endian float bytes. (Mirrors decodeFloatsChunks, which yields
 * each chunk as it is decoded; this one decodes in place into one buffer, with no copy.)
 */
export function decodeFloats(encoded: Uint8Array, dtype: FloatDType, byteLength: number): Uint8Array {
  const what = `${dtype} plane stream`;
  const table = readChunkTable(encoded, dtype, byteLength, what);
  const elementBytes = layoutOf(dtype).elementBytes;
  const out = new Uint8Array(byteLength);
  for (let c = 0; c < table.offsets.length; c++) {
    const start = c * table.chunkBytes;
    const size = Math.min(table.chunkBytes, byteLength - start);
    decodeChunk(
      encoded,
      table.offsets[c]!,
      table.offsets[c]! + table.lengths[c]!,
      size / elementBytes,
      dtype,
      out,
      start,
      `${what} chunk ${c}`,
    );
  }
  return out;
}
