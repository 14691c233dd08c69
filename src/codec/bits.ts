import { ModelpressError } from '../core/errors.js';

/**
 * Bit order: LSB-first, as in deflate. The first bit written is bit 0 of byte 0;
 * a multi-bit value is written least significant bit first. Huffman codes are
 * therefore stored bit-reversed (see huffman.ts).
 */
export class BitWriter {
  private buf: Uint8Array;
  private pos = 0;
  /** Pending bits, LSB first; fewer than 8 remain between calls. */
  private acc = 0;
  private accBits = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Number of bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.accBits;
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` bits of `value` (0 <= n <= 24). */
  writeBits(value: number, n: number): void {
    this.acc |= (value & ((1 << n) - 1)) << this.accBits;
    this.accBits += n;
    while (this.accBits >= 8) {
      if (this.pos >= this.buf.length) this.grow();
      this.buf[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }

  writeBit(bit: number): void {
    this.writeBits(bit & 1, 1);
  }

  /** Pads with zero bits up to the next byte boundary. */
  alignToByte(): void {
    if (this.accBits > 0) this.writeBits(0, 8 - this.accBits);
  }

  /** Aligns and returns the written bytes (a copy). */
  finish(): Uint8Array {
    this.alignToByte();
    return this.buf.slice(0, this.pos);
  }
}

/**
 * LSB-first bit reader over `bytes[start, end)`. Reading past `end` throws
 * E_TRUNCATED; the caller names the stream in `what`.
 */
export class BitReader {
  private pos: number;
  private acc = 0;
  private accBits = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what = 'bit stream',
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  /** Bits consumed so far, counted from `start`. */
  get bitsLeft(): number {
    return (this.end - this.pos) * 8 + this.accBits;
  }

  /** Reads `n` bits (0 <= n <= 24), LSB first. */
  readBits(n: number): number {
    while (this.accBits < n) {
      if (this.pos >= this.end) throw new ModelpressError('E_TRUNCATED', `${this.what}: ends at byte ${this.pos} while reading ${n} bits`);
      this.acc |= this.bytes[this.pos++]! << this.accBits;
      this.accBits += 8;
    }
    const v = this.acc & ((1 << n) - 1);
    this.acc >>>= n;
    this.accBits -= n;
    return v;
  }

  readBit(): number {
    return this.readBits(1);
  }

  /** Drops bits up to the next byte boundary. */
  alignToByte(): void {
    this.acc = 0;
    this.accBits = 0;
  }

  /** Byte offset of the next unread whole byte (after alignToByte). */
  get bytePosition(): number {
    return this.pos;
  }
}
