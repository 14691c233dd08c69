/**
 * modelpress entropy coders: pure functions over typed arrays, browser-safe.
 *
 * Conventions shared by every coder here:
 * - Encoded streams do NOT store the element count: the caller (the .mpz
 *   container's tensor table) stores it and passes it back to the decoder.
 *   Every decoder loop is bounded by that count, so no input can make it hang.
 * - Decoders throw ModelpressError: E_TRUNCATED when the stream ends before the
 *   count is reached, E_CORRUPT when it contradicts itself (invalid code-length
 *   header, unknown layout/mode byte, value out of range, trailing garbage where
 *   detectable). Arithmetic-coded payloads cannot detect every bit flip: the
 *   container's per-chunk checksum is what catches those.
 * - Streams are self-describing apart from the count (alphabet size, options,
 *   chunk table are in a small header), so the container only stores
 *   `{ coder id, count, bytes }`.
 *
 * API (see each file for details):
 *
 * bits.ts       BitWriter / BitReader, LSB-first bit order (deflate style).
 * bytes.ts      ByteWriter / ByteReader: LEB128 varints and bounds-checked byte views.
 * huffman.ts    huffmanCodeLengths(freqs, maxBits=15): Uint8Array   (package-merge, optimal length-limited;
 *                   huffman-code.ts), header in huffman-header.ts, table decoders in huffman-fast-decode.ts
 *               encodeHuffman(symbols: Uint8Array|Uint16Array|Uint32Array, alphabetSize): Uint8Array
 *               decodeHuffman(bytes, count): Uint8Array|Uint16Array|Uint32Array
 *                   (Uint8Array when alphabetSize <= 256, Uint16Array when <= 65536, else Uint32Array)
 *               decodeHuffmanReference(bytes, count): Uint32Array   (slow bit-by-bit decoder, for tests)
 * arith.ts      BinaryEncoder / BinaryDecoder: 32-bit binary range coder, 15-bit probabilities,
 *               two-rate adaptive models (Uint16Array triples: fast, slow, use count), bypass bits,
 *               externally modelled bits, binary-tree symbol coding (encodeSymbolTree/decodeSymbolTree).
 * cabac.ts      encodeIntsCabac(values: Int32Array, options?: CabacOptions): Uint8Array
 *               decodeIntsCabac(bytes, count): Int32Array
 *                   DeepCABAC-style binarization: sig flag, sign, greater-than-k flags,
 *                   Exp-Golomb remainder; contexts on a moving average of |v| and the previous value.
 * sparse.ts     encodeSparse(dense: Float32Array|Int32Array, options?: SparseOptions): SparseEncoded
 *                   -> { layout: 'dense'|'gap'|'bitmask'|'csr', length, positions: Uint8Array, values, estimatedBytes }
 *                   (smallest layout chosen automatically; `values` go to the value coder,
 *                   `positions` are already entropy-coded and self-describing)
 *               decodeSparse(positions, values, length): Float32Array|Int32Array (same type as values)
 *               sparseValueCount(positions, length): number  (how many values the positions need)
 * floatplanes.ts encodeFloats(bytes: Uint8Array, dtype: 'float32'|'float16'|'bfloat16', options?): Uint8Array
 *               decodeFloats(encoded, dtype, byteLength): Uint8Array   (bit-exact; chunked, 256 KiB input chunks)
 *               decodeFloatsChunks(encoded, dtype, byteLength): Iterable<Uint8Array> (chunk by chunk, for streaming)
 *                   field split/join per dtype in floatfields.ts
 * bytecoder.ts  encodeBytes(bytes): Uint8Array, decodeBytes(encoded, byteLength): Uint8Array
 *                   generic lossless byte coder (bitwise context mixing of orders 0-6, word and
 *                   match models, SSE) for skeletons/strings; stores raw when that is smaller.
 *                   ~0.5 MB/s: readers allow a file 512 KiB of it (container/format.ts MAX_GENERIC_BYTES).
 * lz.ts         encodeLz(bytes): Uint8Array, decodeLz(encoded, byteLength): Uint8Array
 *                   LZ77 (hash chains, lazy matching, three recent distances) with canonical
 *                   Huffman streams: the fast generic coder (decodes at 100+ MB/s) for large
 *                   skeletons and indexes; stores when coding does not pay.
 */
export { BitReader, BitWriter } from './bits.js';
export { ByteReader, ByteWriter } from './bytes.js';
export type { SymbolArray } from './huffman.js';
export { decodeHuffman, decodeHuffmanReference, encodeHuffman, huffmanCodeLengths } from './huffman.js';
export { BinaryDecoder, BinaryEncoder } from './arith.js';
export type { CabacOptions } from './cabac.js';
export { decodeIntsCabac, encodeIntsCabac } from './cabac.js';
export type { SparseEncoded, SparseLayout, SparseOptions } from './sparse.js';
export { decodeSparse, encodeSparse, sparseValueCount } from './sparse.js';
export type { FloatDType, FloatCodingOptions } from './floatplanes.js';
export { decodeFloats, decodeFloatsChunks, encodeFloats } from './floatplanes.js';
export { decodeBytes, encodeBytes } from './bytecoder.js';
export { decodeLz, encodeLz } from './lz.js';
