/**
 * The protobuf wire format, read in place: the fields of a message as byte
 * ranges of the input, with no decode/re-encode. formats/onnx/layout.ts
 * walks a ModelProto with it to find where every tensor payload sits.
 */
import { fail } from '../../core/errors.js';
import { readVarint, VARINT_TRUNCATED, type VarintOut } from '../../core/varint.js';

export interface WireField {
  readonly num: number;
  readonly wire: number;
  /** For wire type 2: start and end of the payload; for varints: the value (as number, may lose precision above 2^53). */
  readonly start: number;
  readonly end: number;
  readonly value: number;
}

const out: VarintOut = { value: 0 };

/** The protobuf varint at `pos`, reading no further than `end`: [value, next position]. Throws E_CORRUPT/E_TRUNCATED. */
export function wireVarint(b: Uint8Array, pos: number, end: number): [number, number] {
  const next = readVarint(b, pos, end, 10, out);
  if (next === VARINT_TRUNCATED) fail('E_TRUNCATED', `protobuf varint runs past the end of its message at byte ${end}`);
  if (next < 0) fail('E_CORRUPT', `protobuf varint longer than 10 bytes at byte ${pos + 10}`);
  return [out.value, next];
}

/** All fields of the message in b[start, end). */
export function wireFields(b: Uint8Array, start: number, end: number): WireField[] {
  const fields: WireField[] = [];
  let pos = start;
  while (pos < end) {
    let key: number;
    [key, pos] = wireVarint(b, pos, end);
    const num = Math.floor(key / 8);
    const wire = key & 7;
    if (num === 0) fail('E_CORRUPT', `protobuf field number 0 at byte ${pos}`);
    switch (wire) {
      case 0: {
        let v: number;
        [v, pos] = wireVarint(b, pos, end);
        fields.push({ num, wire, start: pos, end: pos, value: v });
        break;
      }
      case 1:
        pos += 8;
        fields.push({ num, wire, start: pos - 8, end: pos, value: 0 });
        break;
      case 5:
        pos += 4;
        fields.push({ num, wire, start: pos - 4, end: pos, value: 0 });
        break;
      case 2: {
        let len: number;
        [len, pos] = wireVarint(b, pos, end);
        if (pos + len > end) fail('E_TRUNCATED', `protobuf field ${num} of ${len} bytes at byte ${pos} runs past its message end ${end}`);
        fields.push({ num, wire, start: pos, end: pos + len, value: len });
        pos += len;
        break;
      }
      default:
        fail('E_UNSUPPORTED', `protobuf wire type ${wire} (groups) at byte ${pos}`);
    }
    if (pos > end) fail('E_TRUNCATED', `protobuf field ${num} runs past its message end ${end}`);
  }
  return fields;
}

const utf8 = new TextDecoder();

/** A length-delimited field's bytes as text. */
export function wireText(b: Uint8Array, f: WireField): string {
  return utf8.decode(b.subarray(f.start, f.end));
}
