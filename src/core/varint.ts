/**
 * The one varint reader: unsigned base-128 varints (LEB128, which is also
 * protobuf's varint). The container's ByteReader (codec/bytes.ts), the ONNX
 * wire walker (formats/onnx/wire.ts) and format detection (formats/detect.ts)
 * all decode through it; each maps the two failure results to its own error
 * (or, in detection, to "not this format").
 */

/** Where readVarint puts the decoded value (callers keep one and reuse it: no allocation per varint). */
export interface VarintOut {
  value: number;
}

/** readVarint result: the bytes ended (at `end`) before the varint did. */
export const VARINT_TRUNCATED = -1;
/** readVarint result: the varint has more than `maxBytes` bytes. */
export const VARINT_TOO_LONG = -2;

/**
 * Decodes the varint at `pos`, reading no byte at or past `end` and at most
 * `maxBytes` bytes (10 for protobuf, where a negative int64 takes 10). Stores
 * the value in `out.value` (exact up to 2^53, rounded above) and returns the
 * position after the varint, or VARINT_TRUNCATED / VARINT_TOO_LONG.
 */
export function readVarint(bytes: Uint8Array, pos: number, end: number, maxBytes: number, out: VarintOut): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) return VARINT_TRUNCATED;
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      out.value = value;
      return pos;
    }
    scale *= 128;
  }
  return VARINT_TOO_LONG;
}
