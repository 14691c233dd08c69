import { ModelpressError } from '../core/errors.js';
import { readVarint, VARINT_TOO_LONG, VARINT_TRUNCATED, type VarintOut } from '../core/varint.js';

const varint: VarintOut = { value: 0 };

/**
 * Growable byte buffer for codec headers: unsigned LEB128 varints, raw bytes.
 * One buffer, doubled on demand; `finish()` returns a view of the written bytes.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value & 0xff;
  }

  /** Unsigned LEB128 of a non-negative safe integer (up to 2^53 - 1). */
  varuint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ModelpressError('E_ARG', `varuint: ${value} is not a non-negative safe integer`);
    this.ensure(8);
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Bounds-checked reader over a byte range; every overrun throws E_TRUNCATED naming `what` and the offset. */
export class ByteReader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly what = 'codec stream',
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw new ModelpressError('E_TRUNCATED', `${this.what}: ends at byte ${this.pos} while reading a byte`);
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 up to 2^53 - 1 in at most 8 bytes; longer or overflowing encodings throw E_CORRUPT. */
  varuint(): number {
    const start = this.pos;
    const next = readVarint(this.bytes, start, this.end, 8, varint);
    if (next === VARINT_TRUNCATED) throw new ModelpressError('E_TRUNCATED', `${this.what}: ends at byte ${this.end} while reading a byte`);
    if (next === VARINT_TOO_LONG || !Number.isSafeInteger(varint.value))
      throw new ModelpressError('E_CORRUPT', `${this.what}: varint at byte ${start} is too long`);
    this.pos = next;
    return varint.value;
  }

  /** A view (no copy) of the next `n` bytes. */
  bytesView(n: number): Uint8Array {
    if (n < 0 || n > this.remaining)
      throw new ModelpressError('E_TRUNCATED', `${this.what}: needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}
