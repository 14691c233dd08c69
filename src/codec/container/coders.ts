/**
 * The coders of an `.mpz` chunk stream, one table: the id stored in the index
 * (docs/FORMAT.md, "Coders"), the name reports and `--coders` use, what a
 * chunk decodes to (bytes, or codebook indices), and the chunk's decoder.
 * The writer (encode-tensor.ts), the index validator (index-codec.ts) and the
 * reader (decode-chunk.ts) all read it; the encoders are keyed by the same
 * keys in coder-encoders.ts, kept apart so the browser decoder bundles no
 * encoder (the type system requires one encoder per key). A new coder is one
 * row here, one encoder there, and its section in docs/FORMAT.md. Ids are on
 * disk: never renumber a row.
 */
import { fail } from '../../core/errors.js';
import { ByteReader } from '../bytes.js';
import { BYTES_MAX_EXPANSION, decodeBytes } from '../bytecoder.js';
import { decodeIntsCabac } from '../cabac.js';
import { decodeFastFloat } from '../fastfloat.js';
import { decodeFloats } from '../floatplanes.js';
import { decodeHuffman } from '../huffman.js';
import { decodeLz } from '../lz.js';
import { decodeSparse, sparseValueCount } from '../sparse.js';
import { decodeSignLz } from './signlz.js';

export type IndexArray = Int32Array | Uint8Array | Uint16Array | Uint32Array;

interface CoderBase<K extends string> {
  /** Id in the index (one byte). */
  readonly id: number;
  /** Key of CODER. */
  readonly key: K;
  /** Name in reports and EncodeTensorOptions.coders, e.g. 'floatplanes-f32', 'sparse+huffman'. */
  readonly name: string;
  /**
   * Most decoded units one encoded byte can yield, when the coder has a bound
   * below the chunk size: raw 1; the generic byte coder 2840 (its 12-bit
   * probabilities cost at least -log2(4095/4096) bits per bit, so at most
   * ~2839 bytes per byte). Coders without one (a one-symbol Huffman chunk
   * stores no data bits) are bounded by MAX_CHUNK_BYTES alone.
   */
  readonly maxExpansion?: number;
}

/** A coder whose chunks decode to the payload's bytes. */
export interface ByteCoderTraits<K extends string = string> extends CoderBase<K> {
  readonly output: 'bytes';
  /** The float dtype a floatplanes coder is for. */
  readonly float?: 'float32' | 'float16' | 'bfloat16';
  /** Decodes one chunk of `count` bytes (the caller checks the length). */
  readonly decode: (encoded: Uint8Array, count: number) => Uint8Array;
}

/** A coder whose chunks decode to codebook indices. Signed coders carry `index - center`. */
export interface IndexCoderTraits<K extends string = string> extends CoderBase<K> {
  readonly output: 'indices';
  /** Decodes `count` indices of one chunk (the caller validates them against the codebook size). */
  readonly decode: (encoded: Uint8Array, count: number, center: number) => IndexArray;
}

export type CoderTraits = ByteCoderTraits | IndexCoderTraits;

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
    id,
    key,
    name: `floatplanes-${suffix}`,
    output: 'bytes',
    float: dtype,
    decode: (e, count) => decodeFloats(e, dtype, count),
  };
}

const table = [
  {
    id: 0,
    key: 'raw',
    name: 'raw',
    output: 'bytes',
    maxExpansion: 1,
    decode: (e: Uint8Array, count: number) => {
      if (e.length !== count) fail('E_CORRUPT', `raw chunk holds ${e.length} bytes, expected ${count}`);
      return e;
    },
  },
  { id: 1, key: 'bytes', name: 'bytes', output: 'bytes', maxExpansion: BYTES_MAX_EXPANSION, decode: decodeBytes },
  floatplanes(2, 'floatF32', 'float32', 'f32'),
  floatplanes(3, 'floatF16', 'float16', 'f16'),
  floatplanes(4, 'floatBF16', 'bfloat16', 'bf16'),
  {
    id: 5,
    key: 'huffman',
    name: 'huffman',
    output: 'indices',
    decode: (e: Uint8Array, count: number) => decodeHuffman(e, count),
  },
  {
    id: 6,
    key: 'cabac',
    name: 'cabac',
    output: 'indices',
    decode: (e: Uint8Array, count: number, center: number) => {
      const v = decodeIntsCabac(e, count);
      for (let i = 0; i < v.length; i++) v[i] = v[i]! + center;
      return v;
    },
  },
  {
    id: 7,
    key: 'sparseHuffman',
    name: 'sparse+huffman',
    output: 'indices',
    decode: (e: Uint8Array, count: number, center: number) => decodeSparseChunk(e, count, center, false),
  },
  {
    id: 8,
    key: 'sparseCabac',
    name: 'sparse+cabac',
    output: 'indices',
    decode: (e: Uint8Array, count: number, center: number) => decodeSparseChunk(e, count, center, true),
  },
  { id: 9, key: 'signlzF32', name: 'signlz-f32', output: 'bytes', decode: decodeSignLz },
  // since format 1.1: LZ77 + Huffman, the fast generic coder for large skeletons, indexes and integer payloads
  { id: 10, key: 'lz', name: 'lz', output: 'bytes', decode: decodeLz },
  // since format 1.2: float field planes with table-driven Huffman, the default float coder (hundreds of MB/s to decode)
  { id: 11, key: 'fastFloat', name: 'fastfloat', output: 'bytes', decode: decodeFastFloat },
] as const satisfies readonly CoderTraits[];

table.forEach((c, i) => {
  if (c.id !== i) throw new Error(`coder table: row ${i} has id ${c.id}`);
});

export type CoderKey = (typeof table)[number]['key'];

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
