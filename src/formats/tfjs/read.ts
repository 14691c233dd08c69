/**
 * Reads a TF.js model (layers-model or graph-model): the model JSON plus the
 * shard files of each weightsManifest group, dequantizing exactly as
 * tfjs-core's io.decodeWeights does. The bytes as stored (quantized codes,
 * length-prefixed strings) stay available as `TfjsStoredWeight`s.
 */
import type { DType } from '../../core/dtypes.js';
import { ModelpressError, fail, isModelpressError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { NamedTensor } from '../types.js';
import {
  checkWeightsManifest,
  parseTfjsJson,
  tfjsModelKind,
  type TfjsDtype,
  type TfjsModelJson,
  type TfjsModelKind,
  type TfjsWeightEntry,
} from './manifest.js';
import { dequantizeTfjsAffine, dequantizeTfjsAffineInt32, dequantizeTfjsFloat16 } from './quantization.js';
import { concatBytes } from '../../core/bytes.js';

/** A weight exactly as the shards store it. */
export interface TfjsStoredWeight {
  readonly name: string;
  /** Index of its weightsManifest group. */
  readonly group: number;
  /** The manifest entry, unchanged (dtype, shape, quantization, extra fields). */
  readonly entry: TfjsWeightEntry;
  /** Its bytes in the group's concatenated shards: codes for quantized entries, 4-byte-length-prefixed strings for string entries. */
  readonly bytes: Uint8Array;
  /** Byte offset of `bytes` within the group's concatenated shards. */
  readonly offset: number;
}

export interface TfjsModel {
  /** The parsed model JSON, every field kept. */
  readonly modelJson: TfjsModelJson;
  readonly kind: TfjsModelKind;
  /** Weights in manifest order, dequantized to the entry's dtype (float32, int32, bool, string, complex64). */
  readonly tensors: NamedTensor[];
  /** The same weights as stored, in the same order. */
  readonly stored: TfjsStoredWeight[];
}

/** Loads one shard by its manifest path (relative to the model JSON). Throw to report a missing shard. */
export type TfjsShardLoader = (path: string) => Uint8Array;

const DTYPE_OF: Record<TfjsDtype, DType> = { float32: 'float32', int32: 'int32', bool: 'bool', string: 'string', complex64: 'complex64' };
const BYTES_OF: Record<Exclude<TfjsDtype, 'string'>, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The stored weight of `name`, or E_NOT_FOUND. */
export function tfjsStoredWeight(model: TfjsModel, name: string): TfjsStoredWeight {
  const w = model.stored.find((s) => s.name === name);
  if (!w) throw new ModelpressError('E_NOT_FOUND', `no TF.js weight named "${name}"`);
  return w;
}

function loadGroup(paths: readonly string[], group: number, loadShard: TfjsShardLoader, file: string | undefined): Uint8Array {
  const shards = paths.map((p) => {
    let bytes: Uint8Array;
    try {
      bytes = loadShard(p);
    } catch (e) {
      let inner = e instanceof Error ? e.message : String(e);
      if (isModelpressError(e) && e.file !== undefined && e.file === file) inner = inner.slice(e.file.length + 2);
      const code = isModelpressError(e) ? e.code : 'E_NOT_FOUND';
      throw new ModelpressError(code, `shard "${p}" of weightsManifest[${group}] cannot be loaded: ${inner}`, { file, cause: e });
    }
    return bytes;
  });
  return concatBytes(shards);
}

/** Bytes an entry takes in the stream at `offset` (strings: walk their length prefixes). */
function storedLength(entry: TfjsWeightEntry, buf: Uint8Array, offset: number, shortOf: (need: number) => never): number {
  const n = elementCount(entry.shape);
  if (entry.quantization) return n * (entry.quantization.dtype === 'uint8' ? 1 : 2);
  if (entry.dtype !== 'string') return n * BYTES_OF[entry.dtype];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let len = 0;
  for (let i = 0; i < n; i++) {
    if (offset + len + 4 > buf.length) shortOf(len + 4);
    len += 4 + view.getUint32(offset + len, true);
  }
  return len;
}

function splitStrings(bytes: Uint8Array, n: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(at, true);
    out.push(bytes.slice(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

function u16(bytes: Uint8Array): Uint16Array {
  const b = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}

function asBytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The tensor TF.js would build from a stored weight. */
export function decodeTfjsWeight(entry: TfjsWeightEntry, bytes: Uint8Array): Tensor {
  const shape = [...entry.shape];
  const q = entry.quantization;
  if (q) {
    if (q.dtype === 'float16') return { dtype: 'float32', shape, data: asBytes(dequantizeTfjsFloat16(u16(bytes))) };
    const codes = q.dtype === 'uint8' ? bytes : u16(bytes);
    const { scale, min } = q as { scale: number; min: number };
    return entry.dtype === 'int32'
      ? { dtype: 'int32', shape, data: asBytes(dequantizeTfjsAffineInt32(codes, scale, min)) }
      : { dtype: 'float32', shape, data: asBytes(dequantizeTfjsAffine(codes, scale, min)) };
  }
  if (entry.dtype === 'string')
    return { dtype: 'string', shape, data: new Uint8Array(0), strings: splitStrings(bytes, elementCount(shape)) };
  return { dtype: DTYPE_OF[entry.dtype], shape, data: bytes };
}

/**
 * Reads a TF.js model. `json` is the model JSON (text or bytes); `loadShard`
 * returns a shard's bytes given its manifest path; `file` names the JSON in errors.
 * Shards must hold exactly the bytes the manifest describes.
 */
export function readTfjs(json: string | Uint8Array, loadShard: TfjsShardLoader, file?: string): TfjsModel {
  const modelJson = parseTfjsJson(json, file);
  const kind = tfjsModelKind(modelJson, file);
  const manifest = checkWeightsManifest(modelJson, file);
  const tensors: NamedTensor[] = [];
  const stored: TfjsStoredWeight[] = [];
  manifest.forEach((group, gi) => {
    const buf = loadGroup(group.paths, gi, loadShard, file);
    const shardList = group.paths.join(', ');
    let offset = 0;
    for (const entry of group.weights) {
      const shortOf = (need: number): never =>
        fail(
          'E_TRUNCATED',
          `weight "${entry.name}" needs bytes ${offset}..${offset + need} of weightsManifest[${gi}], but its shards (${shardList || 'none'}) hold only ${buf.length} bytes`,
          file,
        );
      const len = storedLength(entry, buf, offset, shortOf);
      if (offset + len > buf.length) shortOf(len);
      const bytes = buf.subarray(offset, offset + len);
      tensors.push({
        name: entry.name,
        tensor: decodeTfjsWeight(entry, bytes),
        location: {
          kind: 'tfjs',
          group: gi,
          shards: group.paths,
          ...(entry.quantization ? { quantization: entry.quantization.dtype } : {}),
        },
      });
      stored.push({ name: entry.name, group: gi, entry, bytes, offset });
      offset += len;
    }
    if (offset !== buf.length) {
      fail(
        'E_CORRUPT',
        `weightsManifest[${gi}] describes ${offset} bytes of weights but its shards (${shardList}) hold ${buf.length}`,
        file,
      );
    }
  });
  return { modelJson: modelJson as TfjsModelJson, kind, tensors, stored };
}
