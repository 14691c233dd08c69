import type { SymbolArray } from './huffman.js';
import { reversedCodes } from './huffman-code.js';

// Table-driven Huffman decoding: primary/secondary tables, and a multi-symbol table for byte alphabets.
//
// Bit access: the decoders keep only a bit position and, per step, read the little-endian
// 32-bit word holding it (one DataView load) shifted right by bitpos & 7, which leaves
// at least PEEK_BITS valid bits. This replaces a bit buffer's data-dependent refill
// branch with a fixed load, and lets the byte decoder do two table lookups per load
// (measured 1.4-1.7x the speed of a 16-bit-refill bit buffer on the real fixtures).

/** Bits resolved by the primary decode table; longer codes go through a secondary table. */
const PRIMARY_BITS = 11;

/** Valid bits in a 32-bit peek at any bit position: 32 minus a shift of up to 7. */
const PEEK_BITS = 25;

/**
 * Readable bytes the decoders need after a span's bit limit, so a 32-bit peek at any position
 * up to the limit stays in bounds. The last span runs on a copy padded with this many zeros
 * (an overrun into them shows in the returned bit count).
 */
export const DATA_PADDING = 8;

/** Largest multi-symbol table index: two lookups must fit in one PEEK_BITS peek. */
export const MAX_MULTI_BITS = PEEK_BITS >> 1;

/**
 * Decode tables. primary[bits] for the low PRIMARY_BITS stream bits:
 *   len > 0: (symbol << 4) | len;  len == 0: (subOffset << 8) | (subBits << 4) pointing into `secondary`,
 * whose entries are (symbol << 4) | fullLength, indexed by the next subBits stream bits.
 */
export interface DecodeTables {
  primary: Int32Array;
  secondary: Int32Array;
}

export function buildTables(lengths: Uint8Array): DecodeTables {
  const codes = reversedCodes(lengths);
  const primary = new Int32Array(1 << PRIMARY_BITS);
  const primaryMask = (1 << PRIMARY_BITS) - 1;
  // Pass 1: the longest code per primary prefix sizes its secondary table; kept as subBits << 4
  // in the primary slot itself (no short code shares a long code's prefix: the code is prefix-free).
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len <= PRIMARY_BITS) continue;
    const prefix = codes[s]! & primaryMask;
    primary[prefix] = Math.max(primary[prefix]!, (len - PRIMARY_BITS) << 4);
  }
  // Pass 2: lay the secondary tables out in prefix order.
  let secondarySize = 0;
  for (let p = 0; p < 1 << PRIMARY_BITS; p++) {
    const subBits = primary[p]! >> 4;
    if (subBits > 0) {
      primary[p] = (secondarySize << 8) | (subBits << 4);
      secondarySize += 1 << subBits;
    }
  }
  // Pass 3: fill every code's slots.
  const secondary = new Int32Array(secondarySize);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len === 0) continue;
    const code = codes[s]! | 0;
    const entry = (s << 4) | len;
    if (len <= PRIMARY_BITS) {
      for (let fill = code; fill < 1 << PRIMARY_BITS; fill += 1 << len) primary[fill] = entry;
    } else {
      const slot = primary[code & primaryMask]!;
      const subBits = (slot >> 4) & 15;
      const base = slot >> 8;
      for (let fill = code >>> PRIMARY_BITS; fill < 1 << subBits; fill += 1 << (len - PRIMARY_BITS)) secondary[base + fill] = entry;
    }
  }
  return { primary, secondary };
}

/**
 * Multi-symbol table for byte alphabets: `bits` (at most MAX_MULTI_BITS) stream bits ->
 * up to three whole symbols. Entry: bits 0-4 consumed length, bits 5-6 symbol count
 * (0 = the first code is longer than `bits`: use the primary/secondary tables),
 * bits 8-15, 16-23, 24-31 the symbols.
 */
export function buildMultiTable(tables: DecodeTables, bits: number): Int32Array {
  const { primary } = tables;
  const multi = new Int32Array(1 << bits);
  const mask = (1 << PRIMARY_BITS) - 1;
  for (let x = 0; x < 1 << bits; x++) {
    let rest = x;
    let restBits = bits;
    let entry = 0;
    let used = 0;
    let n = 0;
    while (n < 3) {
      const e = primary[rest & mask]!;
      const len = e & 15;
      // A code counts only when it lies entirely inside the bits this index fixes.
      if (len === 0 || len > restBits) break;
      entry |= (e >>> 4) << (8 + 8 * n);
      used += len;
      rest >>>= len;
      restBits -= len;
      n++;
    }
    multi[x] = n === 0 ? 0 : entry | (n << 5) | used;
  }
  return multi;
}

/**
 * Where the last decodeGeneric / decodeBytesFast call stopped, in stream bits: their second
 * result. A module variable because storing to an object's fields after the hot loop made
 * V8 deoptimize the loop's on-stack-replaced code on every call (measured: ~15% slower
 * until warm).
 */
let stopBit = 0;

/**
 * One symbol per 32-bit peek: decodes out[from..] starting at stream bit `fromBit` while
 * the bit offset stays at or below `limitBits`, which MUST leave DATA_PADDING readable
 * bytes after it in `data`. Returns the next symbol index; the bit offset is in stopBit.
 */
export function decodeGeneric(
  data: Uint8Array,
  out: SymbolArray,
  tables: DecodeTables,
  from: number,
  fromBit: number,
  limitBits: number,
): number {
  const { primary, secondary } = tables;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = out.length;
  const primaryMask = (1 << PRIMARY_BITS) - 1;
  let bitpos = fromBit;
  let i = from;
  for (; i < count && bitpos <= limitBits; i++) {
    // >>> keeps the peeked bits unsigned: the top bit is a stream bit, not a sign.
    const peek = view.getInt32(bitpos >>> 3, true) >>> (bitpos & 7);
    let entry = primary[peek & primaryMask]!;
    let len = entry & 15;
    if (len === 0) {
      entry = secondary[(entry >>> 8) + ((peek >>> PRIMARY_BITS) & ((1 << ((entry >>> 4) & 15)) - 1))]!;
      len = entry & 15;
    }
    out[i] = entry >>> 4;
    bitpos += len;
  }
  stopBit = bitpos;
  return i;
}

/**
 * Byte alphabets: two multi-symbol lookups (up to three symbols each) per 32-bit peek.
 * Stops six symbols before the end (a step writes up to six) or past `limitBits`;
 * arguments and results as in decodeGeneric; multiBits <= MAX_MULTI_BITS. Its set-up
 * mirrors decodeGeneric's on purpose: each is a self-contained hot loop the JIT keeps in registers.
 */
export function decodeBytesFast(
  data: Uint8Array,
  out: Uint8Array,
  tables: DecodeTables,
  multi: Int32Array,
  multiBits: number,
  from: number,
  fromBit: number,
  limitBits: number,
): number {
  const { primary, secondary } = tables;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const multiMask = (1 << multiBits) - 1;
  const stop = out.length - 5;
  let bitpos = fromBit;
  let i = from;
  while (i < stop && bitpos <= limitBits) {
    let peek = view.getInt32(bitpos >>> 3, true) >>> (bitpos & 7);
    let entry = multi[peek & multiMask]!;
    let len = entry & 31;
    if (len === 0) {
      // The first code is longer than multiBits: one symbol via primary/secondary (<= 15 bits).
      let e = primary[peek & ((1 << PRIMARY_BITS) - 1)]!;
      len = e & 15;
      if (len === 0) {
        e = secondary[(e >> 8) + ((peek >>> PRIMARY_BITS) & ((1 << ((e >> 4) & 15)) - 1))]!;
        len = e & 15;
      }
      out[i++] = e >> 4;
      bitpos += len;
      continue;
    }
    out[i] = entry >> 8;
    out[i + 1] = entry >> 16;
    out[i + 2] = entry >> 24;
    i += (entry >> 5) & 3;
    bitpos += len;
    // The peeked bits still hold PEEK_BITS - len >= multiBits valid bits.
    peek >>>= len;
    entry = multi[peek & multiMask]!;
    len = entry & 31;
    if (len !== 0) {
      out[i] = entry >> 8;
      out[i + 1] = entry >> 16;
      out[i + 2] = entry >> 24;
      i += (entry >> 5) & 3;
      bitpos += len;
    }
  }
  stopBit = bitpos;
  return i;
}

/** Bytes decoded per span: keeps bit offsets below 2^31, so the hot loops stay in int32. */
export const MAX_SPAN_BYTES = 1 << 27;

/**
 * Decodes all of `out` from the data bits starting at byte `dataStart` of `bytes`, with the
 * multi-symbol table when `multi` is given (byte alphabets). The data is read in place, span
 * by span (rebasing the bit offset), while DATA_PADDING bytes remain after the span; only
 * the last few bytes are copied into a zero-padded buffer. Returns the bits consumed, or
 * Infinity when the data runs out first.
 */
export function decodeSymbols(
  bytes: Uint8Array,
  dataStart: number,
  out: SymbolArray,
  tables: DecodeTables,
  multi: Int32Array | undefined,
  multiBits: number,
  maxSpanBytes = MAX_SPAN_BYTES,
): number {
  let symbol = 0;
  let bit = 0;
  let base = dataStart;
  for (;;) {
    const left = bytes.length - base;
    // The tail span (fewer than 2 x DATA_PADDING bytes left) runs on a padded copy.
    const isTail = left < 2 * DATA_PADDING;
    let view: Uint8Array;
    if (isTail) {
      view = new Uint8Array(Math.max(left, 0) + DATA_PADDING);
      view.set(bytes.subarray(base));
    } else view = bytes.subarray(base);
    // A span limit of at least one byte guarantees progress: stopping past it moves base forward.
    const limitBits = (isTail ? Math.max(left, 0) : Math.max(1, Math.min(left - DATA_PADDING, maxSpanBytes))) * 8;
    if (multi && out instanceof Uint8Array) {
      symbol = decodeBytesFast(view, out, tables, multi, multiBits, symbol, bit, limitBits);
      bit = stopBit;
    }
    symbol = decodeGeneric(view, out, tables, symbol, bit, limitBits);
    bit = stopBit;
    if (symbol === out.length) return (base - dataStart) * 8 + bit;
    // Stopped past the limit: the end of the data (truncated), or the end of a span.
    if (isTail) return Infinity;
    base += bit >>> 3;
    bit &= 7;
  }
}
