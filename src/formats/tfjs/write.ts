/**
 * Writes a TF.js model: the model JSON with a fresh weightsManifest plus
 * shard files named and cut like tfjs-converter's write_weights.py
 * (`group<g>-shard<i>of<n>.bin`, each group's bytes concatenated then split
 * every `shardSize` bytes), with optional uint8/uint16 affine or float16
 * quantization computed as tfjs-converter computes it.
 */
import { byteLength, dtypeTraits, type DType } from '../../core/dtypes.js';
import { fail, isModelpressError, ModelpressError } from '../../core/errors.js';
import { toFloat32, typedView, type Tensor } from '../../core/tensor.js';
import {
  tfjsModelKind,
  type TfjsDtype,
  type TfjsModelJson,
  type TfjsQuantization,
  type TfjsQuantizationDtype,
  type TfjsWeightEntry,
  type TfjsWeightsGroup,
} from './manifest.js';
import { quantizeTfjsAffine, quantizeTfjsFloat16 } from './quantization.js';
import { decodeTfjsWeight, type TfjsModel, type TfjsStoredWeight } from './read.js';

/** tfjs-converter's default shard size: 4 MiB, the largest file browsers cache. */
export const TFJS_DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsWriteTensor {
  readonly name: string;
  readonly tensor: Tensor;
  /** Manifest group index; groups are written in ascending index order. Default 0. */
  readonly group?: number;
  /** The weight as read by readTfjs: written verbatim (same codes, scale, min) while it still decodes to `tensor`. */
  readonly stored?: TfjsStoredWeight;
}

/** Quantization of float weights: one dtype for all, a per-name map, or a function (undefined = leave as is). */
export type TfjsQuantizeChoice =
  | TfjsQuantizationDtype
  | Readonly<Record<string, TfjsQuantizationDtype>>
  | ((name: string, tensor: Tensor) => TfjsQuantizationDtype | undefined);

export interface WriteTfjsOptions {
  /** Maximum bytes per shard file. Default 4,194,304 (4 MiB), as tfjs-converter. */
  shardSize?: number;
  /**
   * Prepended to every shard file name (`<prefix>group1-shard1of1.bin`), so
   * models sharing a folder get distinct shards. Default '' (tfjs-converter's names).
   */
  shardPrefix?: string;
  /**
   * Quantize float weights (float32, float16, bfloat16, float64) to uint8/uint16
   * (affine, per tensor) or float16. Default: none, except that float16
   * tensors are always stored float16-quantized (lossless) and stored
   * weights keep the quantization they were read with.
   */
  quantize?: TfjsQuantizeChoice;
}

export interface TfjsShardFile {
  /** File name as listed in the manifest (relative to the model JSON). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface TfjsDtypeConversion {
  readonly name: string;
  readonly from: DType;
  readonly to: TfjsDtype;
  /** False when values may change (float64 -> float32). */
  readonly lossless: boolean;
}

export interface TfjsWriteResult {
  readonly modelJson: TfjsModelJson;
  /** The model JSON text to write. */
  readonly json: string;
  readonly shards: TfjsShardFile[];
  /** Weights stored in another dtype than they came in, because TF.js lacks theirs. */
  readonly conversions: TfjsDtypeConversion[];
}

/** Writer input that rewrites a model as read: same groups, same stored bytes. */
export function tfjsWriteInput(model: TfjsModel): TfjsWriteTensor[] {
  return model.tensors.map((t, i) => ({ name: t.name, tensor: t.tensor, group: model.stored[i]!.group, stored: model.stored[i]! }));
}

function quantizeChoiceFor(choice: TfjsQuantizeChoice | undefined, name: string, tensor: Tensor): TfjsQuantizationDtype | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  if (typeof choice === 'function') return choice(name, tensor);
  return Object.hasOwn(choice, name) ? choice[name] : undefined;
}

const isFloat = (d: DType): boolean => d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';

function sameTensor(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (a.dtype === 'string') {
    const x = a.strings ?? [];
    const y = b.strings ?? [];
    return x.length === y.length && x.every((s, i) => bytesEqual(s, y[i]!));
  }
  return bytesEqual(a.data, b.data);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodeStrings(strings: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const s of strings) total += 4 + s.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const s of strings) {
    view.setUint32(at, s.length, true);
    out.set(s, at + 4);
    at += 4 + s.length;
  }
  return out;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

interface Encoded {
  entry: TfjsWeightEntry;
  bytes: Uint8Array;
  conversion?: TfjsDtypeConversion;
}

/** int32 values of an integer tensor, or E_UNSUPPORTED if one does not fit. */
function toInt32(name: string, t: Tensor): Int32Array {
  const v = typedView(t);
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = Number(v[i]!);
    if (x < -2147483648 || x > 2147483647)
      fail('E_UNSUPPORTED', `weight "${name}" holds ${String(v[i])} at index ${i}, which TF.js's int32 cannot hold`);
    out[i] = x;
  }
  return out;
}

const FLOAT16_ENTRY: TfjsQuantization = { dtype: 'float16', original_dtype: 'float32' };

/** A float tensor as a float32 entry, quantized as `choice` says; float16 data is stored as is when float16 is wanted (lossless). */
function encodeFloat(name: string, tensor: Tensor, choice: TfjsQuantizationDtype | undefined): Encoded {
  const base = { name, shape: [...tensor.shape], dtype: 'float32' as const };
  const d = tensor.dtype;
  if (d === 'float16' && (choice === undefined || choice === 'float16'))
    return { entry: { ...base, quantization: FLOAT16_ENTRY }, bytes: tensor.data };
  const values = d === 'float32' ? (typedView(tensor) as Float32Array) : toFloat32(tensor);
  let encoded: Encoded;
  if (choice === 'float16') encoded = { entry: { ...base, quantization: FLOAT16_ENTRY }, bytes: bytesOf(quantizeTfjsFloat16(values)) };
  else if (choice === 'uint8' || choice === 'uint16') {
    const q = quantizeTfjsAffine(values, choice, `weight "${name}"`);
    encoded = {
      entry: { ...base, quantization: { dtype: choice, min: q.min, scale: q.scale, original_dtype: 'float32' } },
      bytes: bytesOf(q.data),
    };
  } else encoded = { entry: base, bytes: d === 'float32' ? tensor.data : bytesOf(values) };
  return d === 'float32' ? encoded : { ...encoded, conversion: { name, from: d, to: 'float32', lossless: d !== 'float64' } };
}

function checkTensor(name: string, t: Tensor): void {
  let n = 1;
  for (const dim of t.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) fail('E_SHAPE', `weight "${name}" has shape [${t.shape.join(', ')}]`);
    n *= dim;
  }
  if (t.dtype === 'string') {
    if ((t.strings?.length ?? 0) !== n)
      fail('E_SHAPE', `string weight "${name}" of shape [${t.shape.join(', ')}] holds ${t.strings?.length ?? 0} strings`);
  } else if (dtypeTraits(t.dtype).bits > 0 && t.data.length !== byteLength(t.dtype, n)) {
    fail('E_SHAPE', `weight "${name}" of ${t.dtype}[${t.shape.join(', ')}] needs ${byteLength(t.dtype, n)} bytes, has ${t.data.length}`);
  }
}

function encodeWeight(item: TfjsWriteTensor, choice: TfjsQuantizationDtype | undefined): Encoded {
  const { name, tensor, stored } = item;
  checkTensor(name, tensor);
  if (
    stored &&
    (choice === undefined || choice === stored.entry.quantization?.dtype) &&
    sameTensor(decodeTfjsWeight(stored.entry, stored.bytes), tensor)
  ) {
    return { entry: { ...stored.entry, name }, bytes: stored.bytes };
  }
  const d = tensor.dtype;
  if (isFloat(d)) return encodeFloat(name, tensor, choice ?? (stored?.entry.quantization ? stored.entry.quantization.dtype : undefined));
  if (choice !== undefined) fail('E_ARG', `weight "${name}" is ${d}; only float weights can be quantized to ${choice}`);
  const base = { name, shape: [...tensor.shape] };
  switch (d) {
    case 'int32':
    case 'bool':
    case 'complex64':
      return { entry: { ...base, dtype: d }, bytes: tensor.data };
    case 'string':
      return { entry: { ...base, dtype: 'string' }, bytes: encodeStrings(tensor.strings ?? []) };
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'uint32':
    case 'int64':
    case 'uint64':
      return {
        entry: { ...base, dtype: 'int32' },
        bytes: bytesOf(toInt32(name, tensor)),
        conversion: { name, from: d, to: 'int32', lossless: true },
      };
    default:
      fail('E_UNSUPPORTED', `weight "${name}" has dtype ${d}, which TF.js cannot store`);
  }
}

/**
 * The model JSON text and shard files of a TF.js model. `model` is the model
 * JSON (format, modelTopology, signature, ...; its weightsManifest is replaced).
 */
export function writeTfjs(model: TfjsModelJson, tensors: readonly TfjsWriteTensor[], opts: WriteTfjsOptions = {}): TfjsWriteResult {
  const shardSize = opts.shardSize ?? TFJS_DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0)
    fail('E_ARG', `shardSize must be a positive integer number of bytes, got ${shardSize}`);
  try {
    tfjsModelKind(model);
  } catch (e) {
    throw isModelpressError(e) ? new ModelpressError('E_ARG', `cannot write this TF.js model JSON: ${e.message}`) : e;
  }
  const quantize = opts.quantize;
  if (quantize !== undefined && typeof quantize === 'object') {
    const names = new Set(tensors.map((t) => t.name));
    for (const n of Object.keys(quantize)) if (!names.has(n)) fail('E_ARG', `quantize names weight "${n}", which the model does not have`);
  }
  const seen = new Set<string>();
  const groups = new Map<number, { entries: TfjsWeightEntry[]; chunks: Uint8Array[]; size: number }>();
  const conversions: TfjsDtypeConversion[] = [];
  for (const item of tensors) {
    if (seen.has(item.name)) fail('E_ARG', `duplicate weight name "${item.name}"`);
    seen.add(item.name);
    const g = item.group ?? 0;
    if (!Number.isSafeInteger(g) || g < 0) fail('E_ARG', `weight "${item.name}" has group ${g}, not a non-negative integer`);
    const enc = encodeWeight(item, quantizeChoiceFor(quantize, item.name, item.tensor));
    if (enc.conversion) conversions.push(enc.conversion);
    let group = groups.get(g);
    if (!group) groups.set(g, (group = { entries: [], chunks: [], size: 0 }));
    group.entries.push(enc.entry);
    group.chunks.push(enc.bytes);
    group.size += enc.bytes.length;
  }

  const manifest: TfjsWeightsGroup[] = [];
  const shards: TfjsShardFile[] = [];
  [...groups.keys()]
    .sort((a, b) => a - b)
    .forEach((g, k) => {
      const group = groups.get(g)!;
      const stream = new Uint8Array(group.size);
      let at = 0;
      for (const c of group.chunks) {
        stream.set(c, at);
        at += c.length;
      }
      const count = Math.ceil(group.size / shardSize);
      const paths: string[] = [];
      for (let i = 0; i < count; i++) {
        const path = `${opts.shardPrefix ?? ''}group${k + 1}-shard${i + 1}of${count}.bin`;
        paths.push(path);
        shards.push({ path, bytes: stream.subarray(i * shardSize, Math.min(group.size, (i + 1) * shardSize)) });
      }
      manifest.push({ paths, weights: group.entries });
    });

  const modelJson: TfjsModelJson = { ...model, weightsManifest: manifest };
  return { modelJson, json: JSON.stringify(modelJson), shards, conversions };
}
