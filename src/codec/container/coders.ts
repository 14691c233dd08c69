/**
 * The coders of an `.mpz` chunk stream, one table: the id stored in the index
 * (docs/FORMAT.md, "Coders"), the name reports and `--coders` use, what a
 * chunk decodes to (bytes, or codebook indices), and the chunk's encoder and
 * decoder. The writer (encode-tensor.ts), the index validator (index-codec.ts)
 * and the reader (decode-chunk.ts) all read it; a new coder is one row here
 * plus its section in docs/FORMAT.md. Ids are on disk: never renumber a row.
 */
import { fail } from '../../core/errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';
import { decodeBytes, encodeBytes } from '../bytecoder.js';
import { decodeIntsCabac, encodeIntsCabac } from '../cabac.js';
import { decodeFloats, encodeFloats } from '../floatplanes.js';
import { decodeHuffman, encodeHuffman } from '../huffman.js';
import { decodeSparse, encodeSparse, sparseValueCount } from '../sparse.js';
import { decodeSignLz, encodeSignLz } from './signlz.js';

export type IndexArray = Int32Array | Uint8Array | Uint16Array | Uint32Array;

interface CoderBase<K extends string> {
  /** Id in the index (one byte). */
  readonly id: number;
  /** Key of CODER. */
  readonly key: K;
  /** Name in reports and EncodeTensorOptions.coders, e.g. 'floatplanes-f32', 'sparse+huffman'. */
  readonly name: string;
}

/** A coder whose chunks decode to the payload's bytes. */
export interface ByteCoderTraits<K extends string = string> extends CoderBase<K> {
  readonly output: 'bytes';
  /** The float dtype a floatplanes coder is for. */
  readonly float?: 'float32' | 'float16' | 'bfloat16';
  /** Encodes one chunk; undefined when the coder declines it (signlz without repeats). */
  readonly encode: (bytes: Uint8Array) => Uint8Array | undefined;
  /** Decodes one chunk of `count` bytes (the caller checks the length). */
  readonly decode: (encoded: Uint8Array, count: number) => Uint8Array;
}

/** A coder whose chunks decode to codebook indices. Signed coders carry `index - center`. */
export interface IndexCoderTraits<K extends string = string> extends CoderBase<K> {
  readonly output: 'indices';
  /** Encodes `indices` (0..size-1) of one chunk. */
  readonly encode: (indices: Int32Array, size: number, center: number) => Uint8Array;
  /** Decodes `count` indices of one chunk (the caller validates them against the codebook size). */
  readonly decode: (encoded: Uint8Array, count: number, center: number) => IndexArray;
}

export type CoderTraits = ByteCoderTraits | IndexCoderTraits;

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
function encodeSparseChunk(indices: Int32Array, size: number, center: number, cabac: boolean): Uint8Array {
  const enc = encodeSparse(signed(indices, center));
  const values = enc.values as Int32Array;
  const valueBytes = cabac ? encodeIntsCabac(values) : encodeHuffman(symbols(values, size, center), size);
  const w = new ByteWriter(enc.positions.length + valueBytes.length + 8);
  w.varuint(enc.positions.length);
  w.bytes(enc.positions);
  w.bytes(valueBytes);
  return w.finish();
}

function decodeSparseChunk(encoded: Uint8Array, count: number, center: number, cabac: boolean): Int32Array {
  const r = new ByteReader(encoded, 'sparse chunk');
  const positions = r.bytesView(r.varuint());
  const valueBytes = r.bytesView(r.remaining);
  const nValues = sparseValueCount(positions, count);
  let values: Int32Array;
  if (cabac) values = decodeIntsCabac(valueBytes, nValues);
  else {
    const sym = decodeHuffman(valueBytes, nValues);
    values = new Int32Array(nValues);
    for (let i = 0; i < nValues; i++) values[i] = sym[i]! - center;
  }
  const dense = decodeSparse(positions, values, count) as Int32Array;
  for (let i = 0; i < dense.length; i++) dense[i] = dense[i]! + center;
  return dense;
}

function floatplanes<K extends string>(id: number, key: K, dtype: 'float32' | 'float16' | 'bfloat16', suffix: string): ByteCoderTraits<K> {
  return {
    id, key, name: `floatplanes-${suffix}`, output: 'bytes', float: dtype,
    encode: (b) => encodeFloats(b, dtype),
    decode: (e, count) => decodeFloats(e, dtype, count),
  };
}

const table = [
  {
    id: 0, key: 'raw', name: 'raw', output: 'bytes',
    encode: (b: Uint8Array) => b,
    decode: (e: Uint8Array, count: number) => {
      if (e.length !== count) fail('E_CORRUPT', `raw chunk holds ${e.length} bytes, expected ${count}`);
      return e;
    },
  },
  { id: 1, key: 'bytes', name: 'bytes', output: 'bytes', encode: (b: Uint8Array) => encodeBytes(b), decode: decodeBytes },
  floatplanes(2, 'floatF32', 'float32', 'f32'),
  floatplanes(3, 'floatF16', 'float16', 'f16'),
  floatplanes(4, 'floatBF16', 'bfloat16', 'bf16'),
  {
    id: 5, key: 'huffman', name: 'huffman', output: 'indices',
    encode: (idx: Int32Array, size: number) => encodeHuffman(symbols(idx, size, 0), size),
    decode: (e: Uint8Array, count: number) => decodeHuffman(e, count),
  },
  {
    id: 6, key: 'cabac', name: 'cabac', output: 'indices',
    encode: (idx: Int32Array, _size: number, center: number) => encodeIntsCabac(signed(idx, center)),
    decode: (e: Uint8Array, count: number, center: number) => {
      const v = decodeIntsCabac(e, count);
      for (let i = 0; i < v.length; i++) v[i] = v[i]! + center;
      return v;
    },
  },
  {
    id: 7, key: 'sparseHuffman', name: 'sparse+huffman', output: 'indices',
    encode: (idx: Int32Array, size: number, center: number) => encodeSparseChunk(idx, size, center, false),
    decode: (e: Uint8Array, count: number, center: number) => decodeSparseChunk(e, count, center, false),
  },
  {
    id: 8, key: 'sparseCabac', name: 'sparse+cabac', output: 'indices',
    encode: (idx: Int32Array, size: number, center: number) => encodeSparseChunk(idx, size, center, true),
    decode: (e: Uint8Array, count: number, center: number) => decodeSparseChunk(e, count, center, true),
  },
  { id: 9, key: 'signlzF32', name: 'signlz-f32', output: 'bytes', encode: (b: Uint8Array) => encodeSignLz(b), decode: decodeSignLz },
] as const satisfies readonly CoderTraits[];

table.forEach((c, i) => {
  if (c.id !== i) throw new Error(`coder table: row ${i} has id ${c.id}`);
});

type CoderKey = (typeof table)[number]['key'];

/** Every coder, indexed by id. */
export const CODERS: readonly CoderTraits[] = table;

/** Coder ids by key (`CODER.cabac === 6`). */
export const CODER = Object.freeze(Object.fromEntries(table.map((c) => [c.key, c.id]))) as { readonly [K in CoderKey]: number };

/** Coder names by id. */
export const CODER_NAMES: readonly string[] = table.map((c) => c.name);

/** The coder of an id, or undefined for an id this reader does not know. */
export function coderTraits(id: number): CoderTraits | undefined {
  return CODERS[id];
}

/** The floatplanes coder for a dtype, if any. */
export function floatCoderFor(dtype: string): number | undefined {
  return CODERS.find((c) => c.output === 'bytes' && c.float === dtype)?.id;
}
