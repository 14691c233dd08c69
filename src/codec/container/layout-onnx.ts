/**
 * Finds the tensor payloads of an ONNX model by walking the protobuf wire
 * format directly (no decode/re-encode), so the skeleton is the original
 * bytes minus payload bytes and restoring is exact by construction.
 * Walks ModelProto.graph, training_info graphs and functions; in every graph
 * the initializers, sparse initializers and node attributes (t, tensors,
 * sparse_tensor(s), and subgraphs g/graphs, recursively).
 */
import { dtypeFromOnnx, byteLength, elementCount, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import { MIN_SLOT_BYTES, uniqueNames, type PayloadSlot, type SourceLayout } from './layout.js';

interface Field {
  readonly num: number;
  readonly wire: number;
  /** For wire type 2: start and end of the payload; for varints: the value (as number, may lose precision above 2^53). */
  readonly start: number;
  readonly end: number;
  readonly value: number;
}

const MAX_DEPTH = 64;

/** Reads a varint at `pos`; returns [value, next position]. Throws E_CORRUPT/E_TRUNCATED. */
function readVarint(b: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) fail('E_TRUNCATED', `protobuf varint runs past the end of its message at byte ${pos}`);
    const byte = b[pos++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  fail('E_CORRUPT', `protobuf varint longer than 10 bytes at byte ${pos}`);
}

/** All fields of the message in b[start, end). */
function fields(b: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    let key: number;
    [key, pos] = readVarint(b, pos, end);
    const num = Math.floor(key / 8);
    const wire = key & 7;
    if (num === 0) fail('E_CORRUPT', `protobuf field number 0 at byte ${pos}`);
    switch (wire) {
      case 0: {
        let v: number;
        [v, pos] = readVarint(b, pos, end);
        out.push({ num, wire, start: pos, end: pos, value: v });
        break;
      }
      case 1:
        pos += 8;
        out.push({ num, wire, start: pos - 8, end: pos, value: 0 });
        break;
      case 5:
        pos += 4;
        out.push({ num, wire, start: pos - 4, end: pos, value: 0 });
        break;
      case 2: {
        let len: number;
        [len, pos] = readVarint(b, pos, end);
        if (pos + len > end) fail('E_TRUNCATED', `protobuf field ${num} of ${len} bytes at byte ${pos} runs past its message end ${end}`);
        out.push({ num, wire, start: pos, end: pos + len, value: len });
        pos += len;
        break;
      }
      default:
        fail('E_UNSUPPORTED', `protobuf wire type ${wire} (groups) at byte ${pos}`);
    }
    if (pos > end) fail('E_TRUNCATED', `protobuf field ${num} runs past its message end ${end}`);
  }
  return out;
}

function text(b: Uint8Array, f: Field): string {
  return new TextDecoder().decode(b.subarray(f.start, f.end));
}

/** A tensor whose payload lives in an external data file (TensorProto.data_location = EXTERNAL). */
export interface ExternalRef {
  readonly name: string;
  readonly dtype: DType | 'bytes';
  readonly shape: readonly number[];
  /** The `location` entry: a path relative to the model file. */
  readonly location: string;
  readonly offset: number;
  /** The `length` entry, or the size implied by dtype and dims; undefined when neither is known. */
  readonly length: number | undefined;
}

class OnnxWalker {
  readonly slots: PayloadSlot[] = [];
  readonly external: ExternalRef[] = [];
  constructor(private readonly b: Uint8Array) {}

  model(): void {
    for (const f of fields(this.b, 0, this.b.length)) {
      if (f.wire !== 2) continue;
      if (f.num === 7) this.graph(f, 'main', 0);
      else if (f.num === 20) {
        for (const g of fields(this.b, f.start, f.end)) if (g.wire === 2 && (g.num === 1 || g.num === 2)) this.graph(g, g.num === 1 ? 'training_init' : 'training_algo', 1);
      } else if (f.num === 25) this.function(f);
    }
  }

  private function(f: Field): void {
    const fs = fields(this.b, f.start, f.end);
    const name = fs.find((x) => x.num === 1 && x.wire === 2);
    const path = `function:${name ? text(this.b, name) : ''}`;
    for (const x of fs) {
      if (x.wire !== 2) continue;
      if (x.num === 7) this.node(x, path, 1);
      else if (x.num === 11) this.attribute(x, path, '', 1);
    }
  }

  private graph(f: Field, path: string, depth: number): void {
    if (depth > MAX_DEPTH) fail('E_CORRUPT', `ONNX subgraphs nested deeper than ${MAX_DEPTH}`);
    for (const x of fields(this.b, f.start, f.end)) {
      if (x.wire !== 2) continue;
      if (x.num === 1) this.node(x, path, depth);
      else if (x.num === 5) this.tensor(x, '');
      else if (x.num === 15) this.sparse(x, '');
    }
  }

  private node(f: Field, path: string, depth: number): void {
    const fs = fields(this.b, f.start, f.end);
    const output = fs.find((x) => x.num === 2 && x.wire === 2);
    const name = fs.find((x) => x.num === 3 && x.wire === 2);
    const label = output ? text(this.b, output) : name ? text(this.b, name) : path;
    for (const x of fs) if (x.num === 5 && x.wire === 2) this.attribute(x, `${path}/${label}`, label, depth);
  }

  private attribute(f: Field, path: string, label: string, depth: number): void {
    for (const x of fields(this.b, f.start, f.end)) {
      if (x.wire !== 2) continue;
      if (x.num === 5 || x.num === 10) this.tensor(x, label);
      else if (x.num === 22 || x.num === 23) this.sparse(x, label);
      else if (x.num === 6 || x.num === 11) this.graph(x, path, depth + 1);
    }
  }

  private sparse(f: Field, label: string): void {
    for (const x of fields(this.b, f.start, f.end)) {
      if (x.wire === 2 && x.num === 1) this.tensor(x, `${label}.values`);
      else if (x.wire === 2 && x.num === 2) this.tensor(x, `${label}.indices`);
    }
  }

  private externalRef(fs: Field[], label: string, dtype: DType | undefined, dims: number[]): void {
    const entries = new Map<string, string>();
    for (const x of fs) {
      if (x.num !== 13 || x.wire !== 2) continue;
      let key = '';
      let value = '';
      for (const kv of fields(this.b, x.start, x.end)) {
        if (kv.wire === 2 && kv.num === 1) key = text(this.b, kv);
        else if (kv.wire === 2 && kv.num === 2) value = text(this.b, kv);
      }
      entries.set(key, value);
    }
    const location = entries.get('location');
    if (!location) fail('E_FORMAT', `tensor '${label}' has external data without a location`);
    const num = (key: string): number | undefined => {
      const v = entries.get(key);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) fail('E_FORMAT', `tensor '${label}' has external ${key} '${v}'`);
      return n;
    };
    const known = dtype && dtype !== 'string' && dims.every((d) => Number.isSafeInteger(d) && d >= 0);
    const implied = known ? byteLength(dtype, elementCount(dims)) : undefined;
    this.external.push({ name: label, dtype: known ? dtype : 'bytes', shape: dims, location, offset: num('offset') ?? 0, length: num('length') ?? implied });
  }

  private tensor(f: Field, fallbackName: string): void {
    const fs = fields(this.b, f.start, f.end);
    let dataType = 0;
    const dims: number[] = [];
    let name = '';
    for (const x of fs) {
      if (x.num === 2 && x.wire === 0) dataType = x.value;
      else if (x.num === 8 && x.wire === 2) name = text(this.b, x);
      else if (x.num === 1 && x.wire === 0) dims.push(x.value);
      else if (x.num === 1 && x.wire === 2) {
        let p = x.start;
        while (p < x.end) {
          let v: number;
          [v, p] = readVarint(this.b, p, x.end);
          dims.push(v);
        }
      }
    }
    const label = name || fallbackName;
    const dtype = dtypeFromOnnx(dataType);
    const location = fs.find((x) => x.num === 14 && x.wire === 0)?.value;
    if (location === 1) {
      this.externalRef(fs, label, dtype, dims);
      return;
    }
    for (const x of fs) {
      if (x.wire !== 2 || x.end - x.start < MIN_SLOT_BYTES) continue;
      const length = x.end - x.start;
      let slotType: DType | 'bytes' | undefined;
      let shape: number[] = [length];
      if (x.num === 9) {
        // raw_data: typed when its length agrees with dims and dtype
        if (dtype && dtype !== 'string' && dims.every((d) => Number.isSafeInteger(d) && d >= 0) && byteLength(dtype, elementCount(dims)) === length) {
          slotType = dtype;
          shape = dims;
        } else slotType = 'bytes';
      } else if (x.num === 4) { // float_data, packed little-endian float32
        slotType = length % 4 === 0 ? 'float32' : 'bytes';
        shape = slotType === 'float32' ? [length / 4] : [length];
      } else if (x.num === 10) { // double_data
        slotType = length % 8 === 0 ? 'float64' : 'bytes';
        shape = slotType === 'float64' ? [length / 8] : [length];
      } else if (x.num === 5 || x.num === 7 || x.num === 11) slotType = 'bytes'; // varint-packed ints
      if (slotType === undefined) continue;
      this.slots.push({ name: label, dtype: slotType, shape, offset: x.start, length });
    }
  }
}

/** The external data references of an ONNX model (empty when all payloads are inline). */
export function onnxExternalRefs(bytes: Uint8Array): ExternalRef[] {
  const walker = new OnnxWalker(bytes);
  walker.model();
  return walker.external;
}

/**
 * The layout of an ONNX model: one slot per tensor payload field of at least
 * MIN_SLOT_BYTES in the model file, and one per external-data range in the
 * external files (files[1..], named by their `location`).
 */
export function onnxLayout(bytes: Uint8Array, externalFiles: readonly { name: string; length: number }[] = [], modelName = 'model.onnx'): SourceLayout {
  const walker = new OnnxWalker(bytes);
  walker.model();
  const slots = [...walker.slots];
  const starts = new Map<string, { start: number; length: number }>();
  let at = bytes.length;
  for (const f of externalFiles) {
    starts.set(f.name, { start: at, length: f.length });
    at += f.length;
  }
  for (const ref of walker.external) {
    const file = starts.get(ref.location);
    if (!file) fail('E_ARG', `tensor '${ref.name}' refers to external data '${ref.location}', which was not given`);
    const length = ref.length ?? file.length - ref.offset;
    if (ref.offset + length > file.length) fail('E_TRUNCATED', `external data of '${ref.name}' (${length} bytes at ${ref.offset}) runs past the end of '${ref.location}'`);
    if (length < MIN_SLOT_BYTES) continue;
    const typed = ref.dtype !== 'bytes' && ref.dtype !== 'string' && ref.shape.every((d) => Number.isSafeInteger(d)) && byteLength(ref.dtype, elementCount(ref.shape)) === length;
    slots.push({ name: ref.name, dtype: typed ? ref.dtype : 'bytes', shape: typed ? ref.shape : [length], offset: file.start + ref.offset, length });
  }
  slots.sort((a, b) => a.offset - b.offset);
  // tensors sharing external bytes keep only the first range; the rest stays in the skeleton
  const kept: PayloadSlot[] = [];
  let end = 0;
  for (const s of slots) {
    if (s.offset < end) continue;
    kept.push(s);
    end = s.offset + s.length;
  }
  return {
    format: 'onnx',
    files: [{ name: externalFiles.length > 0 ? modelName : '', length: bytes.length }, ...externalFiles.map((f) => ({ name: f.name, length: f.length }))],
    slots: uniqueNames(kept.map((s) => ({ ...s }))),
  };
}
