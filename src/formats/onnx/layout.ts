/**
 * Finds the tensor payloads of an ONNX model by walking the protobuf wire
 * format in place (formats/onnx/wire.ts; no decode/re-encode), so a packer
 * can keep everything else byte-exact.
 * Walks ModelProto.graph, training_info graphs and functions; in every graph
 * the initializers, sparse initializers and node attributes (t, tensors,
 * sparse_tensor(s), and subgraphs g/graphs, recursively).
 */
import { dtypeFromOnnx, byteLength, elementCount, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import type { ByteLayout, LayoutFile, PayloadRange } from '../layout.js';
import { wireFields, wireText, wireVarint, type WireField } from './wire.js';

const MAX_DEPTH = 64;

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
  readonly ranges: PayloadRange[] = [];
  readonly external: ExternalRef[] = [];
  constructor(private readonly b: Uint8Array) {}

  model(): void {
    for (const f of wireFields(this.b, 0, this.b.length)) {
      if (f.wire !== 2) continue;
      if (f.num === 7) this.graph(f, 'main', 0);
      else if (f.num === 20) {
        for (const g of wireFields(this.b, f.start, f.end))
          if (g.wire === 2 && (g.num === 1 || g.num === 2)) this.graph(g, g.num === 1 ? 'training_init' : 'training_algo', 1);
      } else if (f.num === 25) this.function(f);
    }
  }

  private function(f: WireField): void {
    const fs = wireFields(this.b, f.start, f.end);
    const name = fs.find((x) => x.num === 1 && x.wire === 2);
    const path = `function:${name ? wireText(this.b, name) : ''}`;
    for (const x of fs) {
      if (x.wire !== 2) continue;
      if (x.num === 7) this.node(x, path, 1);
      else if (x.num === 11) this.attribute(x, path, '', 1);
    }
  }

  private graph(f: WireField, path: string, depth: number): void {
    if (depth > MAX_DEPTH) fail('E_CORRUPT', `ONNX subgraphs nested deeper than ${MAX_DEPTH}`);
    for (const x of wireFields(this.b, f.start, f.end)) {
      if (x.wire !== 2) continue;
      if (x.num === 1) this.node(x, path, depth);
      else if (x.num === 5) this.tensor(x, '');
      else if (x.num === 15) this.sparse(x, '');
    }
  }

  private node(f: WireField, path: string, depth: number): void {
    const fs = wireFields(this.b, f.start, f.end);
    const output = fs.find((x) => x.num === 2 && x.wire === 2);
    const name = fs.find((x) => x.num === 3 && x.wire === 2);
    const label = output ? wireText(this.b, output) : name ? wireText(this.b, name) : path;
    for (const x of fs) if (x.num === 5 && x.wire === 2) this.attribute(x, `${path}/${label}`, label, depth);
  }

  private attribute(f: WireField, path: string, label: string, depth: number): void {
    for (const x of wireFields(this.b, f.start, f.end)) {
      if (x.wire !== 2) continue;
      if (x.num === 5 || x.num === 10) this.tensor(x, label);
      else if (x.num === 22 || x.num === 23) this.sparse(x, label);
      else if (x.num === 6 || x.num === 11) this.graph(x, path, depth + 1);
    }
  }

  private sparse(f: WireField, label: string): void {
    for (const x of wireFields(this.b, f.start, f.end)) {
      if (x.wire === 2 && x.num === 1) this.tensor(x, `${label}.values`);
      else if (x.wire === 2 && x.num === 2) this.tensor(x, `${label}.indices`);
    }
  }

  private externalRef(fs: WireField[], label: string, dtype: DType | undefined, dims: number[]): void {
    const entries = new Map<string, string>();
    for (const x of fs) {
      if (x.num !== 13 || x.wire !== 2) continue;
      let key = '';
      let value = '';
      for (const kv of wireFields(this.b, x.start, x.end)) {
        if (kv.wire === 2 && kv.num === 1) key = wireText(this.b, kv);
        else if (kv.wire === 2 && kv.num === 2) value = wireText(this.b, kv);
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
    this.external.push({
      name: label,
      dtype: known ? dtype : 'bytes',
      shape: dims,
      location,
      offset: num('offset') ?? 0,
      length: num('length') ?? implied,
    });
  }

  private tensor(f: WireField, fallbackName: string): void {
    const fs = wireFields(this.b, f.start, f.end);
    let dataType = 0;
    const dims: number[] = [];
    let name = '';
    for (const x of fs) {
      if (x.num === 2 && x.wire === 0) dataType = x.value;
      else if (x.num === 8 && x.wire === 2) name = wireText(this.b, x);
      else if (x.num === 1 && x.wire === 0) dims.push(x.value);
      else if (x.num === 1 && x.wire === 2) {
        let p = x.start;
        while (p < x.end) {
          let v: number;
          [v, p] = wireVarint(this.b, p, x.end);
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
      if (x.wire !== 2) continue;
      const length = x.end - x.start;
      let slotType: DType | 'bytes' | undefined;
      let shape: number[] = [length];
      if (x.num === 9) {
        // raw_data: typed when its length agrees with dims and dtype
        if (
          dtype &&
          dtype !== 'string' &&
          dims.every((d) => Number.isSafeInteger(d) && d >= 0) &&
          byteLength(dtype, elementCount(dims)) === length
        ) {
          slotType = dtype;
          shape = dims;
        } else slotType = 'bytes';
      } else if (x.num === 4) {
        // float_data, packed little-endian float32
        slotType = length % 4 === 0 ? 'float32' : 'bytes';
        shape = slotType === 'float32' ? [length / 4] : [length];
      } else if (x.num === 10) {
        // double_data
        slotType = length % 8 === 0 ? 'float64' : 'bytes';
        shape = slotType === 'float64' ? [length / 8] : [length];
      } else if (x.num === 5 || x.num === 7 || x.num === 11) slotType = 'bytes'; // varint-packed ints
      if (slotType === undefined) continue;
      this.ranges.push({ name: label, dtype: slotType, shape, offset: x.start, length });
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
 * The byte layout of an ONNX model: one range per tensor payload field in
 * the model file (raw_data typed when it agrees with dims and dtype,
 * float_data/double_data as float32/float64, varint-packed ints as bytes),
 * then one per external-data range in the external files (files[1..], named
 * by their `location`, concatenated after the model in the given order).
 */
export function onnxByteLayout(bytes: Uint8Array, externalFiles: readonly LayoutFile[] = [], modelName = 'model.onnx'): ByteLayout {
  const walker = new OnnxWalker(bytes);
  walker.model();
  const ranges = [...walker.ranges];
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
    if (ref.offset + length > file.length)
      fail('E_TRUNCATED', `external data of '${ref.name}' (${length} bytes at ${ref.offset}) runs past the end of '${ref.location}'`);
    const typed =
      ref.dtype !== 'bytes' &&
      ref.dtype !== 'string' &&
      ref.shape.every((d) => Number.isSafeInteger(d)) &&
      byteLength(ref.dtype, elementCount(ref.shape)) === length;
    ranges.push({
      name: ref.name,
      dtype: typed ? ref.dtype : 'bytes',
      shape: typed ? ref.shape : [length],
      offset: file.start + ref.offset,
      length,
    });
  }
  return {
    format: 'onnx',
    files: [
      { name: externalFiles.length > 0 ? modelName : '', length: bytes.length },
      ...externalFiles.map((f) => ({ name: f.name, length: f.length })),
    ],
    ranges,
  };
}
