import { ModelpressError } from '../core/errors.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { decodeHuffman, encodeHuffman } from './huffman.js';

/**
 * Fast lossless byte coder: LZ77 with hash-chain matching and one-step lazy
 * evaluation, its literals, literal-run lengths, match lengths and offsets in
 * four canonical-Huffman streams (huffman.ts) plus one raw stream of extra
 * bits. Written for large skeletons and indexes, where the context-mixing
 * coder (bytecoder.ts, ~0.5 MB/s) costs seconds: this one encodes at tens and
 * decodes at hundreds of MB/s, at a ratio near deflate's. Our own design; the
 * layout is specified in docs/FORMAT.md ("lz chunks").
 *
 * Stream: u8 mode (0 stored: the bytes follow; 1 coded):
 *   varuint nSeq, varuint nLit,
 *   4 x (varuint len, Huffman stream): literals (alphabet 256, nLit symbols),
 *     run codes, length codes, offset codes (alphabet VALUE_CODES, nSeq each),
 *   rest: extra bits, LSB first, per sequence: run, length, offset extras.
 * Sequence s: copy runs[s] literals, then a match of length[s] + MIN_MATCH
 * bytes from `offset` back (offset value 0 = the previous match's offset);
 * the literals left after the last sequence end the output.
 */

export const LZ_MIN_MATCH = 4;
const MODE_STORED = 0;
const MODE_CODED = 1;
/** Value codes: 0..15 literal, then 2 per bit length (top two bits) with n - 1 extra bits; values < 2^30. */
export const VALUE_CODES = 16 + 2 * 26;
const MAX_VALUE = 2 ** 30 - 1;
/**
 * Sequences, and literals, per coded byte the decoder accepts: each costs >= 1 bit unless its
 * Huffman stream has one symbol (which a maximal-match encoder all but never produces; the
 * writer checks and stores instead). Bounds the decoder's buffers by the coded size.
 */
const SEQ_PER_BYTE = 8;
const SEQ_SLACK = 64;

const HASH_BITS = 16;
const MAX_WINDOW = 1 << 22;
const CHAIN_DEPTH = 16;
const NICE_LENGTH = 96;

/** Bucket of a value: code, extra bit count and extra bits. */
function valueCode(v: number): number {
  if (v < 16) return v;
  const n = 31 - Math.clz32(v);
  return 16 + 2 * (n - 4) + ((v >>> (n - 1)) & 1);
}

/** Extra bits of code `c` (0 for 0..15). */
function extraBitsOf(c: number): number {
  return c < 16 ? 0 : ((c - 16) >> 1) + 3;
}

class ExtraWriter {
  private buf: Uint8Array;
  private pos = 0;
  private acc = 0;
  private bits = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }
  /** Writes the low n bits of v (n <= 29). */
  write(v: number, n: number): void {
    if (n === 0) return;
    if (n > 16) {
      this.write(v & 0xffff, 16);
      this.write(v >>> 16, n - 16);
      return;
    }
    this.acc |= (v & ((1 << n) - 1)) << this.bits;
    this.bits += n;
    if (this.pos + 4 > this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    while (this.bits >= 8) {
      this.buf[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }
  finish(): Uint8Array {
    if (this.bits > 0) this.buf[this.pos++] = this.acc & 0xff;
    return this.buf.subarray(0, this.pos);
  }
}

function stored(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = MODE_STORED;
  out.set(bytes, 1);
  return out;
}

/** Codes arbitrary bytes (length < 2^30); stores them when coding does not pay. */
export function encodeLz(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n > MAX_VALUE) throw new ModelpressError('E_ARG', `lz: ${n} bytes is beyond the coder's 2^30 - 1`);
  if (n < 16) return stored(bytes);
  const windowBits = Math.min(22, Math.max(10, 32 - Math.clz32(n - 1)));
  const window = Math.min(MAX_WINDOW, 1 << windowBits);
  const wmask = window - 1;
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(window);
  const lits = new Uint8Array(n);
  const cap = (n >> 2) + 16;
  let runs: Uint32Array = new Uint32Array(cap);
  let lens: Uint32Array = new Uint32Array(cap);
  let offs: Uint32Array = new Uint32Array(cap);
  let nSeq = 0;
  let nLit = 0;
  let litStart = 0;
  // the three most recent distinct match distances, most recent first (0 = none yet)
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  const end4 = n - LZ_MIN_MATCH;
  const hashAt = (p: number): number =>
    Math.imul(bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24), 0x9e3779b1) >>> (32 - HASH_BITS);
  let inserted = 0; // positions below this are in the hash chains
  const insertTo = (limit: number): void => {
    const stop = Math.min(limit, end4 + 1);
    for (let q = inserted; q < stop; q++) {
      const h = hashAt(q);
      prev[q & wmask] = head[h]!;
      head[h] = q;
    }
    if (stop > inserted) inserted = stop;
  };
  let bestDist = 0;
  const repLength = (p: number, d: number, maxLen: number): number => {
    if (d === 0 || d > p) return 0;
    let l = 0;
    const s = p - d;
    while (l < maxLen && bytes[s + l] === bytes[p + l]) l++;
    return l;
  };
  /** Longest match at p (length, distance in bestDist); the recent distances are tried first and preferred. */
  const findMatch = (p: number): number => {
    const maxLen = n - p;
    let best = 0;
    bestDist = 0;
    let l = repLength(p, rep0, maxLen);
    if (l > best) {
      best = l;
      bestDist = rep0;
    }
    l = repLength(p, rep1, maxLen);
    if (l > best) {
      best = l;
      bestDist = rep1;
    }
    l = repLength(p, rep2, maxLen);
    if (l > best) {
      best = l;
      bestDist = rep2;
    }
    if (best < LZ_MIN_MATCH) best = 0;
    else if (best >= NICE_LENGTH) return best;
    // a new distance costs its code and extra bits: it must beat a recent one by 2 bytes, and a far one needs more length
    const repBest = best;
    insertTo(p);
    let cand = head[hashAt(p)]!;
    const minPos = p - window + 1;
    for (let depth = 0; depth < CHAIN_DEPTH && cand >= 0 && cand >= minPos; depth++) {
      if (bytes[cand + best] === bytes[p + best]) {
        let l = 0;
        while (l < maxLen && bytes[cand + l] === bytes[p + l]) l++;
        const d = p - cand;
        const need = Math.max(best, repBest > 0 ? repBest + 2 : 0, d > 1 << 16 ? 6 : d > 1 << 11 ? 5 : 0);
        if (l > need || (l === need && l > best)) {
          best = l;
          bestDist = d;
          if (l >= NICE_LENGTH) break;
        }
      }
      cand = prev[cand & wmask]!;
    }
    return best >= LZ_MIN_MATCH ? best : 0;
  };
  let p = 0;
  let misses = 0;
  while (p <= end4) {
    let len = findMatch(p);
    if (len === 0) {
      // incompressible stretches: step faster the longer nothing matched (the skipped bytes stay literals)
      p += 1 + (misses++ >> 7);
      continue;
    }
    misses = 0;
    let dist = bestDist;
    // lazy: a longer match one byte later wins over this one
    if (len < NICE_LENGTH && p + 1 <= end4) {
      const len2 = findMatch(p + 1);
      if (len2 > len + 1) {
        p++;
        len = len2;
        dist = bestDist;
      }
    }
    if (nSeq === runs.length) {
      const grow = (a: Uint32Array): Uint32Array => {
        const b = new Uint32Array(a.length * 2);
        b.set(a);
        return b;
      };
      runs = grow(runs);
      lens = grow(lens);
      offs = grow(offs);
    }
    const run = p - litStart;
    lits.set(bytes.subarray(litStart, p), nLit);
    nLit += run;
    runs[nSeq] = run;
    lens[nSeq] = len - LZ_MIN_MATCH;
    if (dist === rep0) offs[nSeq] = 0;
    else if (dist === rep1) {
      offs[nSeq] = 1;
      rep1 = rep0;
      rep0 = dist;
    } else if (dist === rep2) {
      offs[nSeq] = 2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    } else {
      offs[nSeq] = dist + 2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    }
    nSeq++;
    p += len;
    litStart = p;
    // positions inside long matches: insert only the last few (runs of zeros would flood the chains)
    if (len > 64) inserted = Math.max(inserted, p - 16);
  }
  lits.set(bytes.subarray(litStart, n), nLit);
  nLit += n - litStart;

  const runCodes = new Uint8Array(nSeq);
  const lenCodes = new Uint8Array(nSeq);
  const offCodes = new Uint8Array(nSeq);
  const extra = new ExtraWriter(nSeq * 2 + 16);
  for (let s = 0; s < nSeq; s++) {
    const r = runs[s]!;
    const l = lens[s]!;
    const o = offs[s]!;
    const rc = valueCode(r);
    const lc = valueCode(l);
    const oc = valueCode(o);
    runCodes[s] = rc;
    lenCodes[s] = lc;
    offCodes[s] = oc;
    extra.write(r, extraBitsOf(rc));
    extra.write(l, extraBitsOf(lc));
    extra.write(o, extraBitsOf(oc));
  }
  const w = new ByteWriter(nLit + nSeq + 64);
  w.u8(MODE_CODED);
  w.varuint(nSeq);
  w.varuint(nLit);
  for (const [syms, alphabet] of [
    [lits.subarray(0, nLit), 256],
    [runCodes, VALUE_CODES],
    [lenCodes, VALUE_CODES],
    [offCodes, VALUE_CODES],
  ] as const) {
    const h = encodeHuffman(syms, alphabet);
    w.varuint(h.length);
    w.bytes(h);
  }
  w.bytes(extra.finish());
  const out = w.finish();
  // the decoder's sequence bound (see SEQ_PER_BYTE) holds for every coded stream this writer emits
  const perByte = out.length * SEQ_PER_BYTE + SEQ_SLACK;
  if (out.length >= n + 1 || nSeq > perByte || nLit > perByte) return stored(bytes);
  return out;
}

/** Reads `count` values of the given codes with their extra bits: a plain LSB-first bit cursor. */
class ExtraReader {
  private pos: number;
  private acc = 0;
  private bits = 0;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  value(code: number): number {
    if (code < 16) return code;
    const nb = ((code - 16) >> 1) + 3;
    const hi = (2 | (code & 1)) << nb;
    return hi + this.read(nb);
  }
  private read(n: number): number {
    if (n > 16) {
      const lo = this.read(16);
      return lo + this.read(n - 16) * 65536;
    }
    while (this.bits < n) {
      if (this.pos >= this.bytes.length) throw new ModelpressError('E_TRUNCATED', 'lz stream: extra bits end early');
      this.acc |= this.bytes[this.pos++]! << this.bits;
      this.bits += 8;
    }
    const v = this.acc & ((1 << n) - 1);
    this.acc >>>= n;
    this.bits -= n;
    return v;
  }
}

function huffmanCodes(r: ByteReader, n: number, what: string): Uint8Array {
  const section = r.bytesView(r.varuint());
  const out = decodeHuffman(section, n);
  if (!(out instanceof Uint8Array)) throw new ModelpressError('E_CORRUPT', `lz stream: ${what} alphabet is not a byte alphabet`);
  return out;
}

/** Decodes `byteLength` bytes; work is O(byteLength + encoded length), memory byteLength + 32 x encoded length. */
export function decodeLz(encoded: Uint8Array, byteLength: number): Uint8Array {
  const what = 'lz stream';
  if (!Number.isSafeInteger(byteLength) || byteLength < 0)
    throw new ModelpressError('E_ARG', `lz: length ${byteLength} is not a non-negative integer`);
  if (encoded.length < 1) throw new ModelpressError('E_TRUNCATED', `${what}: missing mode byte`);
  const mode = encoded[0]!;
  if (mode === MODE_STORED) {
    if (encoded.length - 1 !== byteLength)
      throw new ModelpressError(
        encoded.length - 1 < byteLength ? 'E_TRUNCATED' : 'E_CORRUPT',
        `${what}: stored payload has ${encoded.length - 1} bytes, ${byteLength} expected`,
      );
    return encoded.slice(1);
  }
  if (mode !== MODE_CODED) throw new ModelpressError('E_CORRUPT', `${what}: unknown mode byte ${mode} at offset 0`);
  const r = new ByteReader(encoded, what, 1);
  const nSeq = r.varuint();
  const nLit = r.varuint();
  if (nLit > byteLength) throw new ModelpressError('E_CORRUPT', `${what}: ${nLit} literals for ${byteLength} bytes`);
  if (nSeq * LZ_MIN_MATCH > byteLength - nLit)
    throw new ModelpressError('E_CORRUPT', `${what}: ${nSeq} matches cannot fit ${byteLength - nLit} copied bytes`);
  if (nSeq > encoded.length * SEQ_PER_BYTE + SEQ_SLACK || nLit > encoded.length * SEQ_PER_BYTE + SEQ_SLACK)
    throw new ModelpressError(
      'E_CORRUPT',
      `${what}: ${nSeq} sequences and ${nLit} literals from ${encoded.length} bytes (at most ${SEQ_PER_BYTE} per byte + ${SEQ_SLACK})`,
    );
  const lits = huffmanCodes(r, nLit, 'literal');
  const runCodes = huffmanCodes(r, nSeq, 'run');
  const lenCodes = huffmanCodes(r, nSeq, 'length');
  const offCodes = huffmanCodes(r, nSeq, 'offset');
  const extra = new ExtraReader(encoded, r.pos);
  const out = new Uint8Array(byteLength);
  let pos = 0;
  let lp = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  for (let s = 0; s < nSeq; s++) {
    const rc = runCodes[s]!;
    const lc = lenCodes[s]!;
    const oc = offCodes[s]!;
    if (rc >= VALUE_CODES || lc >= VALUE_CODES || oc >= VALUE_CODES)
      throw new ModelpressError('E_CORRUPT', `${what}: sequence ${s} has a code outside 0..${VALUE_CODES - 1}`);
    const run = extra.value(rc);
    const len = extra.value(lc) + LZ_MIN_MATCH;
    const ov = extra.value(oc);
    let dist: number;
    if (ov === 0) dist = rep0;
    else if (ov === 1) {
      dist = rep1;
      rep1 = rep0;
      rep0 = dist;
    } else if (ov === 2) {
      dist = rep2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    } else {
      dist = ov - 2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    }
    if (run > nLit - lp || run + len > byteLength - pos)
      throw new ModelpressError('E_CORRUPT', `${what}: sequence ${s} runs past the end of its ${byteLength} bytes`);
    if (run < 24) for (let k = 0; k < run; k++) out[pos + k] = lits[lp + k]!;
    else out.set(lits.subarray(lp, lp + run), pos);
    pos += run;
    lp += run;
    if (dist === 0 || dist > pos)
      throw new ModelpressError('E_CORRUPT', `${what}: sequence ${s} copies from ${dist} bytes back at byte ${pos}`);
    const src = pos - dist;
    if (len < 32) {
      for (let k = 0; k < len; k++) out[pos + k] = out[src + k]!;
      pos += len;
    } else if (dist >= len) {
      out.copyWithin(pos, src, src + len);
      pos += len;
    } else {
      // overlapping copy: the period-`dist` pattern doubles with each copy
      let left = len;
      let span = dist;
      while (left > 0) {
        const k = left < span ? left : span;
        out.copyWithin(pos, src, src + k);
        pos += k;
        left -= k;
        span += k;
      }
    }
  }
  if (nLit - lp !== byteLength - pos)
    throw new ModelpressError('E_CORRUPT', `${what}: ${nLit - lp} literals left for the last ${byteLength - pos} bytes`);
  out.set(lits.subarray(lp), pos);
  return out;
}
