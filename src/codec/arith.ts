import { ModelpressError } from '../core/errors.js';

/**
 * Adaptive binary range coder (LZMA-style carry handling, 32-bit range).
 *
 * Probabilities are 15-bit estimates of P(bit = 0). Each context holds two
 * estimators and a use count in a Uint16Array triple: a fast one (shift 5) and
 * a slow one (shift 7), averaged (the two-rate scheme of VVC / DeepCABAC), so
 * it follows changes quickly yet settles on skewed statistics. While a context
 * is young both adapt faster (shift = min(count + 1, rate)), which cuts the
 * learning cost on small tensors.
 *
 * Stream: the big-endian bytes of the interval's low end, without LZMA's
 * always-zero leading byte. The decoder consumes exactly the bytes the encoder
 * produced, so a decoder can check for truncation and trailing garbage.
 */
export const PROB_BITS = 15;
const PROB_ONE = 1 << PROB_BITS;
const PROB_HALF = PROB_ONE >>> 1;
const FAST_SHIFT = 5;
const SLOW_SHIFT = 7;
const TOP = 1 << 24;
/** Entries per context: fast estimate, slow estimate, use count. */
export const CONTEXT_STRIDE = 3;
const FAST_SHIFTS = new Uint8Array(256).map((_, n) => Math.min(n + 1, FAST_SHIFT));
const SLOW_SHIFTS = new Uint8Array(256).map((_, n) => Math.min(n + 1, SLOW_SHIFT));
const COUNT_LIMIT = 255;

/** Fresh contexts (p = 1/2, count 0). */
export function newContexts(count: number): Uint16Array {
  const probs = new Uint16Array(CONTEXT_STRIDE * count);
  for (let i = 0; i < probs.length; i += CONTEXT_STRIDE) {
    probs[i] = PROB_HALF;
    probs[i + 1] = PROB_HALF;
  }
  return probs;
}

export class BinaryEncoder {
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private cacheSize = 1;
  private buf: Uint8Array;
  private pos = 0;
  /** The first byte shifted out is always 0; it is not stored. */
  private skipFirst = true;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  private put(byte: number): void {
    if (this.skipFirst) {
      this.skipFirst = false;
      return;
    }
    if (this.pos >= this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.pos++] = byte;
  }

  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.put((temp + carry) & 0xff);
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = (this.low >>> 24) & 0xff;
    }
    this.cacheSize++;
    this.low = (this.low & 0x00ffffff) * 256;
  }

  /**
   * Codes `bit` with context `ctx` of `probs` and adapts it. Mirrored on
   * purpose by RangeDecoder.decodeBit (the same state read, bound and update):
   * both are the innermost loop of every coder, kept inline rather than
   * sharing a helper call per bit.
   */
  encodeBit(probs: Uint16Array, ctx: number, bit: number): void {
    const i = ctx * CONTEXT_STRIDE;
    const fast = probs[i]!;
    const slow = probs[i + 1]!;
    const n = probs[i + 2]!;
    const fastShift = FAST_SHIFTS[n]!;
    const slowShift = SLOW_SHIFTS[n]!;
    if (n < COUNT_LIMIT) probs[i + 2] = n + 1;
    const bound = (this.range >>> PROB_BITS) * ((fast + slow) >>> 1);
    if (bit === 0) {
      this.range = bound;
      probs[i] = fast + ((PROB_ONE - fast) >> fastShift);
      probs[i + 1] = slow + ((PROB_ONE - slow) >> slowShift);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[i] = fast - (fast >> fastShift);
      probs[i + 1] = slow - (slow >> slowShift);
    }
    while (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.shiftLow();
    }
  }

  /** encodeSymbolTree's hot loop: the encodeBit model per node with the range kept in a local. */
  encodeTree(probs: Uint16Array, base: number, nbits: number, symbol: number): void {
    let range = this.range;
    let node = 1;
    for (let b = nbits - 1; b >= 0; b--) {
      const bit = (symbol >>> b) & 1;
      const i = (base + node) * CONTEXT_STRIDE;
      const fast = probs[i]!;
      const slow = probs[i + 1]!;
      const n = probs[i + 2]!;
      const fastShift = FAST_SHIFTS[n]!;
      const slowShift = SLOW_SHIFTS[n]!;
      if (n < COUNT_LIMIT) probs[i + 2] = n + 1;
      const bound = (range >>> PROB_BITS) * ((fast + slow) >>> 1);
      if (bit === 0) {
        range = bound;
        probs[i] = fast + ((PROB_ONE - fast) >> fastShift);
        probs[i + 1] = slow + ((PROB_ONE - slow) >> slowShift);
      } else {
        this.low += bound;
        range -= bound;
        probs[i] = fast - (fast >> fastShift);
        probs[i + 1] = slow - (slow >> slowShift);
      }
      while (range < TOP) {
        range = (range << 8) >>> 0;
        this.shiftLow();
      }
      node = (node << 1) | bit;
    }
    this.range = range;
  }

  /** Codes `bit` with an externally modelled probability `p0` = P(bit = 0) in 1..32767 (15-bit). */
  encodeBitWithProbability(p0: number, bit: number): void {
    const bound = (this.range >>> PROB_BITS) * p0;
    if (bit === 0) this.range = bound;
    else {
      this.low += bound;
      this.range -= bound;
    }
    while (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.shiftLow();
    }
  }

  /** Codes the low `n` bits of `value` (n <= 24), MSB first, at p = 1/2. */
  encodeBypass(value: number, n: number): void {
    for (let b = n - 1; b >= 0; b--) {
      this.range >>>= 1;
      if ((value >>> b) & 1) this.low += this.range;
      while (this.range < TOP) {
        this.range = (this.range << 8) >>> 0;
        this.shiftLow();
      }
    }
  }

  finish(): Uint8Array {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return this.buf.slice(0, this.pos);
  }
}

export class BinaryDecoder {
  private code = 0;
  private range = 0xffffffff;
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what = 'arithmetic-coded stream',
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
  }

  private next(): number {
    if (this.pos >= this.end)
      throw new ModelpressError('E_TRUNCATED', `${this.what}: ends at byte ${this.end} before all values were decoded`);
    return this.bytes[this.pos++]!;
  }

  decodeBit(probs: Uint16Array, ctx: number): number {
    const i = ctx * CONTEXT_STRIDE;
    const fast = probs[i]!;
    const slow = probs[i + 1]!;
    const n = probs[i + 2]!;
    const fastShift = FAST_SHIFTS[n]!;
    const slowShift = SLOW_SHIFTS[n]!;
    if (n < COUNT_LIMIT) probs[i + 2] = n + 1;
    const bound = (this.range >>> PROB_BITS) * ((fast + slow) >>> 1);
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = fast + ((PROB_ONE - fast) >> fastShift);
      probs[i + 1] = slow + ((PROB_ONE - slow) >> slowShift);
      bit = 0;
    } else {
      this.code -= bound;
      this.range -= bound;
      probs[i] = fast - (fast >> fastShift);
      probs[i + 1] = slow - (slow >> slowShift);
      bit = 1;
    }
    while (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
    return bit;
  }

  /**
   * Decodes an `nbits`-bit symbol coded by encodeSymbolTree: the same model as
   * decodeBit per node, with the coder state kept in locals (the float planes'
   * hot loop).
   */
  decodeTree(probs: Uint16Array, base: number, nbits: number): number {
    let code = this.code;
    let range = this.range;
    let pos = this.pos;
    const bytes = this.bytes;
    const end = this.end;
    let node = 1;
    for (let b = 0; b < nbits; b++) {
      const i = (base + node) * CONTEXT_STRIDE;
      const fast = probs[i]!;
      const slow = probs[i + 1]!;
      const n = probs[i + 2]!;
      const fastShift = FAST_SHIFTS[n]!;
      const slowShift = SLOW_SHIFTS[n]!;
      if (n < COUNT_LIMIT) probs[i + 2] = n + 1;
      const bound = (range >>> PROB_BITS) * ((fast + slow) >>> 1);
      if (code < bound) {
        range = bound;
        probs[i] = fast + ((PROB_ONE - fast) >> fastShift);
        probs[i + 1] = slow + ((PROB_ONE - slow) >> slowShift);
        node <<= 1;
      } else {
        code -= bound;
        range -= bound;
        probs[i] = fast - (fast >> fastShift);
        probs[i + 1] = slow - (slow >> slowShift);
        node = (node << 1) | 1;
      }
      while (range < TOP) {
        if (pos >= end) {
          this.pos = pos;
          this.next(); // throws E_TRUNCATED
        }
        range = (range << 8) >>> 0;
        code = ((code << 8) | bytes[pos++]!) >>> 0;
      }
    }
    this.code = code;
    this.range = range;
    this.pos = pos;
    return node - (1 << nbits);
  }

  /** Decodes a bit coded with encodeBitWithProbability(p0, bit). */
  decodeBitWithProbability(p0: number): number {
    const bound = (this.range >>> PROB_BITS) * p0;
    let bit = 0;
    if (this.code < bound) this.range = bound;
    else {
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    while (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
    return bit;
  }

  decodeBypass(n: number): number {
    let value = 0;
    for (let b = 0; b < n; b++) {
      this.range >>>= 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        bit = 1;
      }
      value = (value << 1) | bit;
      while (this.range < TOP) {
        this.range = (this.range << 8) >>> 0;
        this.code = ((this.code << 8) | this.next()) >>> 0;
      }
    }
    return value >>> 0;
  }

  /** Throws E_CORRUPT unless every byte of the stream was consumed. */
  checkEnd(): void {
    if (this.pos !== this.end) throw new ModelpressError('E_CORRUPT', `${this.what}: ${this.end - this.pos} unexpected trailing bytes`);
  }

  /** Offset of the next unread byte. */
  get position(): number {
    return this.pos;
  }
}

/**
 * Codes an `nbits`-bit symbol as a binary tree walk, MSB first: node contexts
 * `base + 1 .. base + 2^nbits - 1` of `probs` (so a context family needs
 * 2^nbits contexts per conditioning value).
 */
export function encodeSymbolTree(enc: BinaryEncoder, probs: Uint16Array, base: number, nbits: number, symbol: number): void {
  enc.encodeTree(probs, base, nbits, symbol);
}

export function decodeSymbolTree(dec: BinaryDecoder, probs: Uint16Array, base: number, nbits: number): number {
  return dec.decodeTree(probs, base, nbits);
}
