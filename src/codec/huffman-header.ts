import { ModelpressError } from '../core/errors.js';
import { BitReader, type BitWriter } from './bits.js';
import { ByteReader } from './bytes.js';
import { huffmanCodeLengths, MAX_CODE_BITS, reversedCodes } from './huffman-code.js';

/** The Huffman stream header: alphabet size, mode, and run-length coded code lengths (see huffman.ts). */
export const MAX_ALPHABET = 1 << 20;
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
export const MODE_EMPTY = 0;
export const MODE_ONE = 1;
export const MODE_CODED = 2;

/** Run-length tokens of the code lengths: [token, extra] pairs. */
function lengthTokens(lengths: Uint8Array): number[] {
  const out: number[] = [];
  const n = lengths.length;
  let i = 0;
  while (i < n) {
    const len = lengths[i]!;
    let run = 1;
    while (i + run < n && lengths[i + run] === len) run++;
    if (len === 0 && run >= 3) {
      const take = Math.min(run, 138);
      if (take >= 11) out.push(18, take - 11);
      else out.push(17, take - 3);
      i += take;
      continue;
    }
    out.push(len, 0);
    i++;
    run--;
    while (len !== 0 && run >= 3) {
      const take = Math.min(run, 6);
      out.push(16, take - 3);
      i += take;
      run -= take;
    }
  }
  return out;
}

const CL_EXTRA_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];

export function writeLengths(w: BitWriter, lengths: Uint8Array): void {
  const tokens = lengthTokens(lengths);
  const clFreq = new Uint32Array(19);
  for (let i = 0; i < tokens.length; i += 2) clFreq[tokens[i]!]!++;
  let clLengths = huffmanCodeLengths(clFreq, 7);
  // A single token kind still needs a decodable code: give it a 1-bit code plus a dummy sibling.
  let usedKinds = 0;
  for (let i = 0; i < 19; i++) if (clLengths[i]! > 0) usedKinds++;
  if (usedKinds === 1) {
    const only = clLengths.indexOf(1);
    clLengths = new Uint8Array(19);
    clLengths[only] = 1;
    clLengths[only === 0 ? 1 : 0] = 1;
  }
  for (let i = 0; i < 19; i++) w.writeBits(clLengths[CL_ORDER[i]!]!, 3);
  const clCodes = reversedCodes(clLengths);
  for (let i = 0; i < tokens.length; i += 2) {
    const t = tokens[i]!;
    w.writeBits(clCodes[t]!, clLengths[t]!);
    if (CL_EXTRA_BITS[t]! > 0) w.writeBits(tokens[i + 1]!, CL_EXTRA_BITS[t]!);
  }
}

export interface ParsedHeader {
  alphabetSize: number;
  mode: number;
  single: number;
  lengths: Uint8Array;
  /** Byte offset where the data bits start (mode 2). */
  dataStart: number;
}

/** A small canonical code (the code-length code) decoded bit by bit: symbols by length, count per length. */
interface SmallDecoder {
  countPerLength: Uint16Array;
  symbolsByCode: Uint16Array;
  maxLen: number;
}

function smallDecoder(lengths: Uint8Array): SmallDecoder {
  let maxLen = 0;
  for (let s = 0; s < lengths.length; s++) maxLen = Math.max(maxLen, lengths[s]!);
  const countPerLength = new Uint16Array(maxLen + 1);
  for (let s = 0; s < lengths.length; s++) countPerLength[lengths[s]!]!++;
  // Canonical order: by length, then by symbol.
  const symbolsByCode = new Uint16Array(lengths.length);
  let n = 0;
  for (let len = 1; len <= maxLen; len++) for (let s = 0; s < lengths.length; s++) if (lengths[s] === len) symbolsByCode[n++] = s;
  return { countPerLength, symbolsByCode, maxLen };
}

/** Reads one symbol: the codes of each length are consecutive values starting at `first`. */
function readSmallSymbol(r: BitReader, d: SmallDecoder, what: string): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= d.maxLen; len++) {
    code |= r.readBit();
    const count = d.countPerLength[len]!;
    if (code - first < count) return d.symbolsByCode[index + code - first]!;
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  throw new ModelpressError('E_CORRUPT', `${what}: invalid code`);
}

function checkKraft(lengths: Uint8Array, what: string): number {
  const complete = 1 << MAX_CODE_BITS;
  let kraft = 0;
  let used = 0;
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len > 0) {
      // Integer arithmetic (2 ** x is a float power); stopping once over-subscribed keeps the sum small.
      kraft += 1 << (MAX_CODE_BITS - len);
      used++;
      if (kraft > complete) break;
    }
  }
  if (used >= 2 && kraft !== complete) throw new ModelpressError('E_CORRUPT', `${what}: code lengths do not form a complete prefix code`);
  return used;
}

export function parseHeader(bytes: Uint8Array, what: string): ParsedHeader {
  const br = new ByteReader(bytes, what);
  const alphabetSize = br.varuint();
  if (alphabetSize < 1 || alphabetSize > MAX_ALPHABET)
    throw new ModelpressError('E_CORRUPT', `${what}: alphabet size ${alphabetSize} is outside 1..${MAX_ALPHABET}`);
  const mode = br.u8();
  if (mode === MODE_EMPTY) return { alphabetSize, mode, single: 0, lengths: new Uint8Array(0), dataStart: br.pos };
  if (mode === MODE_ONE) {
    const single = br.varuint();
    if (single >= alphabetSize)
      throw new ModelpressError('E_CORRUPT', `${what}: single symbol ${single} is outside the alphabet of ${alphabetSize}`);
    return { alphabetSize, mode, single, lengths: new Uint8Array(0), dataStart: br.pos };
  }
  if (mode !== MODE_CODED) throw new ModelpressError('E_CORRUPT', `${what}: unknown mode byte ${mode} at offset ${br.pos - 1}`);
  const r = new BitReader(bytes, what, br.pos);
  const clLengths = new Uint8Array(19);
  for (let i = 0; i < 19; i++) clLengths[CL_ORDER[i]!] = r.readBits(3);
  if (checkKraft(clLengths, `${what} (code-length code)`) < 2)
    throw new ModelpressError('E_CORRUPT', `${what}: code-length code has fewer than two codes`);
  const clDecoder = smallDecoder(clLengths);
  const lengths = new Uint8Array(alphabetSize);
  let i = 0;
  while (i < alphabetSize) {
    const t = readSmallSymbol(r, clDecoder, what);
    if (t < 16) {
      lengths[i++] = t;
      continue;
    }
    const extra = r.readBits(CL_EXTRA_BITS[t]!);
    const run = t === 16 ? 3 + extra : t === 17 ? 3 + extra : 11 + extra;
    if (t === 16 && i === 0) throw new ModelpressError('E_CORRUPT', `${what}: length repeat with no previous length`);
    if (i + run > alphabetSize)
      throw new ModelpressError('E_CORRUPT', `${what}: code-length run passes the alphabet end (${alphabetSize})`);
    const value = t === 16 ? lengths[i - 1]! : 0;
    lengths.fill(value, i, i + run);
    i += run;
  }
  if (checkKraft(lengths, what) < 2) throw new ModelpressError('E_CORRUPT', `${what}: coded mode with fewer than two symbols`);
  r.alignToByte();
  return { alphabetSize, mode, single: 0, lengths, dataStart: r.bytePosition };
}
