import type { SymbolArray } from './huffman.js';
import { reversedCodes } from './huffman-code.js';

// Table-driven Huffman decoding: primary/secondary tables, and a multi-symbol table for byte alphabets.

/** Bits resolved by the primary decode table; longer codes go through a secondary table. */
const PRIMARY_BITS = 11;

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
  // Longest code per primary prefix, to size each secondary table.
  const subBitsFor = new Uint8Array(1 << PRIMARY_BITS);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len <= PRIMARY_BITS) continue;
    const prefix = codes[s]! & ((1 << PRIMARY_BITS) - 1);
    subBitsFor[prefix] = Math.max(subBitsFor[prefix]!, len - PRIMARY_BITS);
  }
  let secondarySize = 0;
  const subOffset = new Int32Array(1 << PRIMARY_BITS);
  for (let p = 0; p < 1 << PRIMARY_BITS; p++) {
    if (subBitsFor[p]! > 0) {
      subOffset[p] = secondarySize;
      secondarySize += 1 << subBitsFor[p]!;
      primary[p] = (subOffset[p]! << 8) | (subBitsFor[p]! << 4);
    }
  }
  const secondary = new Int32Array(secondarySize);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len === 0) continue;
    const code = codes[s]!;
    const entry = (s << 4) | len;
    if (len <= PRIMARY_BITS) {
      for (let fill = code; fill < 1 << PRIMARY_BITS; fill += 1 << len) primary[fill] = entry;
    } else {
      const prefix = code & ((1 << PRIMARY_BITS) - 1);
      const subBits = subBitsFor[prefix]!;
      const rest = code >>> PRIMARY_BITS;
      const restLen = len - PRIMARY_BITS;
      for (let fill = rest; fill < 1 << subBits; fill += 1 << restLen) secondary[subOffset[prefix]! + fill] = entry;
    }
  }
  return { primary, secondary };
}

/**
 * Multi-symbol table for byte alphabets: `bits` stream bits -> up to three
 * whole symbols. Entry: bits 0-4 consumed length, bits 5-6 symbol count
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

/** One symbol per step; starts at symbol `from` with the given bit state. Returns bits consumed. */
export function decodeGeneric(data: Uint8Array, out: SymbolArray, tables: DecodeTables, from: number, pos0: number, bitbuf0: number, bitcount0: number): number {
  const { primary, secondary } = tables;
  const count = out.length;
  const primaryMask = (1 << PRIMARY_BITS) - 1;
  let pos = pos0;
  let bitbuf = bitbuf0;
  let bitcount = bitcount0;
  for (let i = from; i < count; i++) {
    if (bitcount < 16) {
      if (pos + 2 > data.length) return Infinity;
      bitbuf = (bitbuf & ((1 << bitcount) - 1)) | ((data[pos]! | (data[pos + 1]! << 8)) << bitcount);
      pos += 2;
      bitcount += 16;
    }
    let entry = primary[bitbuf & primaryMask]!;
    let len = entry & 15;
    if (len === 0) {
      const subBits = (entry >>> 4) & 15;
      entry = secondary[(entry >>> 8) + ((bitbuf >> PRIMARY_BITS) & ((1 << subBits) - 1))]!;
      len = entry & 15;
    }
    out[i] = entry >>> 4;
    bitbuf >>= len;
    bitcount -= len;
  }
  return pos * 8 - bitcount;
}

/** Byte alphabets: up to three symbols per table lookup. Returns bits consumed. */
export function decodeBytesFast(data: Uint8Array, out: Uint8Array, tables: DecodeTables, multi: Int32Array, multiBits: number): number {
  const { primary, secondary } = tables;
  const multiMask = (1 << multiBits) - 1;
  // Every step writes three bytes, so stop while three slots remain and finish generically.
  const stop = out.length - 2;
  const limit = data.length - 2;
  let pos = 0;
  let bitbuf = 0;
  let bitcount = 0;
  let i = 0;
  // Signed shifts keep bitbuf an int32 in V8's optimized code (>>> would make it a
  // uint32/double and cost ~30%); stale sign bits above `bitcount` are masked at refill.
  while (i < stop) {
    if (bitcount < 16) {
      if (pos > limit) return Infinity;
      bitbuf = (bitbuf & ((1 << bitcount) - 1)) | ((data[pos]! | (data[pos + 1]! << 8)) << bitcount);
      pos += 2;
      bitcount += 16;
    }
    const entry = multi[bitbuf & multiMask]!;
    let len = entry & 31;
    if (len !== 0) {
      out[i] = entry >> 8;
      out[i + 1] = entry >> 16;
      out[i + 2] = entry >> 24;
      i += (entry >> 5) & 3;
    } else {
      let e = primary[bitbuf & ((1 << PRIMARY_BITS) - 1)]!;
      len = e & 15;
      if (len === 0) {
        const subBits = (e >> 4) & 15;
        e = secondary[(e >> 8) + ((bitbuf >> PRIMARY_BITS) & ((1 << subBits) - 1))]!;
        len = e & 15;
      }
      out[i++] = e >> 4;
    }
    bitbuf >>= len;
    bitcount -= len;
  }
  return i < out.length ? decodeGeneric(data, out, tables, i, pos, bitbuf, bitcount) : pos * 8 - bitcount;
}

