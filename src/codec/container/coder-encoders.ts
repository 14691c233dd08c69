/**
 * The encoder of every coder in coders.ts, keyed by the same keys: the writer
 * (encode-tensor.ts) looks a chunk's encoder up here. Kept out of coders.ts so
 * the browser decoder, which reads only that table, bundles no encoder; the
 * mapped type makes a coder without an encoder a compile error.
 */
import { ByteWriter } from '../bytes.js';
import { encodeBytes } from '../bytecoder.js';
import { encodeIntsCabac } from '../cabac.js';
import { encodeFastFloat, type FastFloatDType } from '../fastfloat.js';
import { encodeFloats } from '../floatplanes.js';
import { encodeHuffman, huffmanCodable } from '../huffman.js';
import { encodeLz } from '../lz.js';
import { encodeSparse } from '../sparse.js';
import { CODERS, type CoderKey } from './coders.js';
import { encodeSignLz } from './signlz.js';

/** Encodes one chunk of payload bytes of `dtype`; undefined when the coder declines it (signlz without repeats, fastfloat on a non-float dtype). */
export type ByteEncoder = (bytes: Uint8Array, dtype?: string) => Uint8Array | undefined;
/**
 * Encodes `indices` (0..size-1) of one chunk; signed coders store `index - center`.
 * Undefined when the coder cannot take the chunk (Huffman with more than 2^15
 * distinct indices): the writer drops that candidate.
 */
export type IndexEncoder = (indices: Int32Array, size: number, center: number) => Uint8Array | undefined;

function signed(indices: Int32Array, center: number): Int32Array {
  const v = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) v[i] = indices[i]! - center;
  return v;
}

/** Huffman symbols (the index itself, or signed value + center) in the narrowest array the codebook size allows. */
function symbols(values: ArrayLike<number>, size: number, offset: number): Uint8Array | Uint16Array {
  const v = size <= 256 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) v[i] = values[i]! + offset;
  return v;
}

/** Sparse layout: varuint position-stream length, positions, then the nonzero values (signed) by `cabac` or Huffman. */
function encodeSparseChunk(indices: Int32Array, size: number, center: number, cabac: boolean): Uint8Array | undefined {
  const enc = encodeSparse(signed(indices, center));
  const values = enc.values as Int32Array;
  let valueBytes: Uint8Array;
  if (cabac) valueBytes = encodeIntsCabac(values);
  else {
    const syms = symbols(values, size, center);
    if (!huffmanCodable(syms, size)) return undefined;
    valueBytes = encodeHuffman(syms, size);
  }
  const w = new ByteWriter(enc.positions.length + valueBytes.length + 8);
  w.varuint(enc.positions.length);
  w.bytes(enc.positions);
  w.bytes(valueBytes);
  return w.finish();
}

const encoders = {
  raw: ((b) => b) as ByteEncoder,
  bytes: ((b) => encodeBytes(b)) as ByteEncoder,
  floatF32: ((b) => encodeFloats(b, 'float32')) as ByteEncoder,
  floatF16: ((b) => encodeFloats(b, 'float16')) as ByteEncoder,
  floatBF16: ((b) => encodeFloats(b, 'bfloat16')) as ByteEncoder,
  huffman: ((idx, size) => {
    const syms = symbols(idx, size, 0);
    return huffmanCodable(syms, size) ? encodeHuffman(syms, size) : undefined;
  }) as IndexEncoder,
  cabac: ((idx, _size, center) => encodeIntsCabac(signed(idx, center))) as IndexEncoder,
  sparseHuffman: ((idx, size, center) => encodeSparseChunk(idx, size, center, false)) as IndexEncoder,
  sparseCabac: ((idx, size, center) => encodeSparseChunk(idx, size, center, true)) as IndexEncoder,
  signlzF32: ((b) => encodeSignLz(b)) as ByteEncoder,
  lz: ((b) => encodeLz(b)) as ByteEncoder,
  fastFloat: ((b, dtype) =>
    dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16'
      ? encodeFastFloat(b, dtype as FastFloatDType)
      : undefined) as ByteEncoder,
} satisfies { readonly [K in CoderKey]: ByteEncoder | IndexEncoder };

/** The encoder of byte coder `id` (a payload-bytes coder of coders.ts). */
export function byteEncoder(id: number): ByteEncoder {
  const c = CODERS[id];
  if (c?.output !== 'bytes') throw new Error(`coder ${id} does not encode bytes`);
  return encoders[c.key as CoderKey] as ByteEncoder;
}

/** The encoder of index coder `id` (a codebook-indices coder of coders.ts). */
export function indexEncoder(id: number): IndexEncoder {
  const c = CODERS[id];
  if (c?.output !== 'indices') throw new Error(`coder ${id} does not encode indices`);
  return encoders[c.key as CoderKey] as IndexEncoder;
}
