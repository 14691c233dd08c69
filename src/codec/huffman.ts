import { ModelpressError } from '../core/errors.js';
import { BitReader, BitWriter } from './bits.js';
import { ByteWriter } from './bytes.js';
import { canonicalCodes, huffmanCodeLengths, MAX_CODE_BITS, MAX_CODED_SYMBOLS, reversedCodes } from './huffman-code.js';
import { buildMultiTable, buildTables, decodeSymbols, MAX_MULTI_BITS } from './huffman-fast-decode.js';
import { MAX_ALPHABET, MODE_CODED, MODE_EMPTY, MODE_ONE, parseHeader, writeLengths } from './huffman-header.js';

/**
 * Canonical, length-limited Huffman coding of symbol streams.
 *
 * Stream layout (bits LSB-first, codes stored bit-reversed like deflate):
 *   varuint alphabetSize (1 .. 2^20)
 *   u8 mode: 0 = empty (count must be 0), 1 = one symbol (varuint symbol, no data bits),
 *            2 = coded
 *   mode 2: 19 x 3-bit lengths of the code-length code (order CL_ORDER), then the
 *           alphabetSize code lengths coded with it (0..15 literal, 16 = repeat the
 *           previous length 3..6 times (2 extra bits), 17 = 3..10 zeros (3 bits),
 *           18 = 11..138 zeros (7 bits)), then the symbols' codes, zero-padded to a byte.
 */
export type SymbolArray = Uint8Array | Uint16Array | Uint32Array;

export { canonicalCodes, huffmanCodeLengths, MAX_ALPHABET, MAX_CODE_BITS, MAX_CODED_SYMBOLS };

/**
 * Whether `symbols` can be Huffman-coded: at most MAX_CODED_SYMBOLS (2^15)
 * distinct values, whatever the alphabet size (up to MAX_ALPHABET). Beyond it
 * no prefix code of 15-bit lengths exists; writers escape such a chunk to
 * another coder (cabac for codebook indices) instead of failing.
 */
export function huffmanCodable(symbols: ArrayLike<number>, alphabetSize: number): boolean {
  if (symbols.length <= MAX_CODED_SYMBOLS) return true;
  const seen = new Uint8Array(alphabetSize);
  let used = 0;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    if (seen[s] === 0) {
      seen[s] = 1;
      if (++used > MAX_CODED_SYMBOLS) return false;
    }
  }
  return true;
}

function checkAlphabet(alphabetSize: number): void {
  if (!Number.isInteger(alphabetSize) || alphabetSize < 1 || alphabetSize > MAX_ALPHABET)
    throw new ModelpressError('E_ARG', `huffman: alphabet size ${alphabetSize} is outside 1..${MAX_ALPHABET}`);
}

/** Huffman-codes `symbols` (each < alphabetSize) into a self-describing stream; the count is not stored. */
export function encodeHuffman(symbols: SymbolArray, alphabetSize: number): Uint8Array {
  checkAlphabet(alphabetSize);
  const freqs = new Uint32Array(alphabetSize);
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    if (s >= alphabetSize)
      throw new ModelpressError('E_ARG', `huffman: symbol ${s} at index ${i} is outside the alphabet of ${alphabetSize}`);
    freqs[s]!++;
  }
  const head = new ByteWriter(16);
  head.varuint(alphabetSize);
  if (symbols.length === 0) {
    head.u8(MODE_EMPTY);
    return head.finish();
  }
  const lengths = huffmanCodeLengths(freqs, MAX_CODE_BITS);
  let usedCount = 0;
  for (let s = 0; s < alphabetSize; s++) if (lengths[s]! > 0) usedCount++;
  if (usedCount === 1) {
    head.u8(MODE_ONE);
    head.varuint(symbols[0]!);
    return head.finish();
  }
  head.u8(MODE_CODED);
  const w = new BitWriter(64 + alphabetSize);
  writeLengths(w, lengths);
  const header = w.finish();
  const codes = reversedCodes(lengths);
  // Data bits: packed with a local 32-bit accumulator for speed.
  let totalBits = 0;
  for (let s = 0; s < alphabetSize; s++) totalBits += freqs[s]! * lengths[s]!;
  const data = new Uint8Array(Math.ceil(totalBits / 8) + 4);
  let acc = 0;
  let accBits = 0;
  let pos = 0;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    acc |= codes[s]! << accBits;
    accBits += lengths[s]!;
    if (accBits >= 16) {
      data[pos++] = acc & 0xff;
      data[pos++] = (acc >>> 8) & 0xff;
      acc >>>= 16;
      accBits -= 16;
    }
  }
  while (accBits > 0) {
    data[pos++] = acc & 0xff;
    acc >>>= 8;
    accBits -= 8;
  }
  const headBytes = head.finish();
  const out = new Uint8Array(headBytes.length + header.length + pos);
  out.set(headBytes, 0);
  out.set(header, headBytes.length);
  out.set(data.subarray(0, pos), headBytes.length + header.length);
  return out;
}

/** Below this many byte symbols the multi-symbol table costs more to build than it saves (measured crossover 4-16 K). */
const FAST_MIN_COUNT = 8192;

/** Multi-symbol table size: bigger tables decode more symbols per lookup but cost more to build. */
function multiBitsFor(count: number): number {
  return count >= 1 << 15 ? MAX_MULTI_BITS : 11;
}

function allocSymbols(alphabetSize: number, count: number): SymbolArray {
  return alphabetSize <= 256 ? new Uint8Array(count) : alphabetSize <= 65536 ? new Uint16Array(count) : new Uint32Array(count);
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new ModelpressError('E_ARG', `huffman: count ${count} is not a non-negative integer`);
}

/**
 * Decodes `count` symbols. Returns Uint8Array when the stream's alphabet has at
 * most 256 symbols, Uint16Array up to 65536, else Uint32Array.
 */
export function decodeHuffman(bytes: Uint8Array, count: number): SymbolArray {
  const what = 'huffman stream';
  checkCount(count);
  const h = parseHeader(bytes, what);
  // every code is at least 1 bit: a coded stream cannot hold more symbols than data bits (checked before allocating)
  if (h.mode === MODE_CODED && count > (bytes.length - h.dataStart) * 8)
    throw new ModelpressError('E_TRUNCATED', `${what}: ${count} symbols claimed from ${(bytes.length - h.dataStart) * 8} data bits`);
  const out = allocSymbols(h.alphabetSize, count);
  if (h.mode === MODE_EMPTY) {
    if (count !== 0) throw new ModelpressError('E_CORRUPT', `${what}: empty stream but ${count} symbols expected`);
    return out;
  }
  if (h.mode === MODE_ONE) {
    out.fill(h.single);
    return out;
  }
  const tables = buildTables(h.lengths);
  const multiBits = multiBitsFor(count);
  const multi = out instanceof Uint8Array && count >= FAST_MIN_COUNT ? buildMultiTable(tables, multiBits) : undefined;
  const consumedBits = decodeSymbols(bytes, h.dataStart, out, tables, multi, multiBits);
  if (consumedBits > (bytes.length - h.dataStart) * 8)
    throw new ModelpressError('E_TRUNCATED', `${what}: data ends at byte ${bytes.length} before ${count} symbols were decoded`);
  return out;
}

/** Slow, obvious decoder (bit by bit, canonical code search) used to check decodeHuffman in tests. */
export function decodeHuffmanReference(bytes: Uint8Array, count: number): Uint32Array {
  const what = 'huffman stream';
  checkCount(count);
  const h = parseHeader(bytes, what);
  const out = new Uint32Array(count);
  if (h.mode === MODE_EMPTY) {
    if (count !== 0) throw new ModelpressError('E_CORRUPT', `${what}: empty stream but ${count} symbols expected`);
    return out;
  }
  if (h.mode === MODE_ONE) return out.fill(h.single);
  const codes = canonicalCodes(h.lengths);
  // Map (length, code) -> symbol via first code and symbol order per length.
  const bySymbol = new Map<string, number>();
  for (let s = 0; s < h.lengths.length; s++) if (h.lengths[s]! > 0) bySymbol.set(`${h.lengths[s]}:${codes[s]}`, s);
  const r = new BitReader(bytes, what, h.dataStart);
  for (let i = 0; i < count; i++) {
    let code = 0;
    let found = -1;
    for (let len = 1; len <= MAX_CODE_BITS && found < 0; len++) {
      code = (code << 1) | r.readBit();
      found = bySymbol.get(`${len}:${code}`) ?? -1;
    }
    if (found < 0) throw new ModelpressError('E_CORRUPT', `${what}: invalid code at symbol ${i}`);
    out[i] = found;
  }
  return out;
}
