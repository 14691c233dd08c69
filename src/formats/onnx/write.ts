/**
 * Encoding a ModelProto. Plain writes are protobuf-es `toBinary`, which emits
 * fields in field-number order with packed repeated scalars as onnx.proto
 * declares and unknown fields kept, so a model read from a canonically
 * encoded file (what the ONNX C++/Python writers produce) is written back
 * byte for byte. With `externalData`, tensor payloads move to a separate data
 * file first, so the protobuf stays small (protobuf cannot exceed 2 GB) and
 * the data is produced as a list of chunks that need never be concatenated.
 */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';
import { byteLength } from '../../core/dtypes.js';
import { ModelpressError, fail } from '../../core/errors.js';
import { cloneSharingBytes } from './clone.js';
import { externalDataInfo, isExternal, readExternalBytes, setExternal, type ExternalSources } from './external.js';
import { checkTensorProto, tensorFromProto } from './tensor-proto.js';
import { allTensorProtos, describeSlot } from './walk.js';

/** Protobuf messages must stay below 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface ExternalDataOptions extends ExternalSources {
  /** Data file name stored in each moved tensor's `location`, relative to the model's directory (e.g. 'model.onnx.data'). */
  readonly location: string;
  /** Tensors whose payload has at least this many bytes move to the data file; default 1024. Smaller ones stay inline. */
  readonly sizeThreshold?: number | undefined;
  /** Each moved tensor starts at a multiple of this many bytes in the data file (zero padding between); default 4096 (mmap-friendly, as the ONNX spec recommends). */
  readonly align?: number | undefined;
  /**
   * Keep int32/int64 tensors of at most 64 elements inline whatever their
   * size (default true). They are shapes, pads and axes, which onnxruntime's
   * shape inference must read from the protobuf: it refuses external ones
   * inside If/Loop subgraphs ("Cannot parse data from external tensors").
   */
  readonly keepShapeTensorsInline?: boolean | undefined;
  /**
   * Receives the data file's chunks in order (a tensor's bytes or zero
   * padding). When given, `data` in the result is empty, so a caller can
   * stream a data file of any size to disk.
   */
  readonly sink?: ((chunk: Uint8Array) => void) | undefined;
}

export interface WriteOnnxOptions {
  /** Move large tensor payloads to an external data file (see ExternalDataOptions). */
  readonly externalData?: ExternalDataOptions | undefined;
  /** File name for error messages. */
  readonly file?: string | undefined;
}

export interface OnnxWithExternalData {
  /** The .onnx file's bytes. */
  readonly model: Uint8Array;
  /** The data file's chunks in order (empty when a sink was given). */
  readonly data: Uint8Array[];
  /** Total bytes of the data file. */
  readonly dataBytes: number;
  /** Number of tensors moved to the data file. */
  readonly movedTensors: number;
}

function encode(proto: ModelProto, file: string | undefined): Uint8Array {
  try {
    return toBinary(ModelProtoSchema, proto);
  } catch (e) {
    throw new ModelpressError('E_ARG', `cannot encode ONNX model: ${e instanceof Error ? e.message : String(e)}`, { file, cause: e });
  }
}

/** Bytes a tensor payload occupies inside the protobuf (approximate for typed fields; exact for raw_data). */
function inlineBytes(tp: TensorProto): number {
  return (
    tp.rawData.byteLength +
    4 * tp.floatData.length +
    5 * tp.int32Data.length +
    8 * (tp.int64Data.length + tp.doubleData.length + tp.uint64Data.length)
  );
}

/** Encodes `proto`. Without `externalData` the result is the .onnx bytes; with it, the .onnx bytes and the data file's chunks. */
export function writeOnnx(proto: ModelProto, opts?: { readonly externalData?: undefined; readonly file?: string | undefined }): Uint8Array;
export function writeOnnx(
  proto: ModelProto,
  opts: { readonly externalData: ExternalDataOptions; readonly file?: string | undefined },
): OnnxWithExternalData;
export function writeOnnx(proto: ModelProto, opts: WriteOnnxOptions): Uint8Array | OnnxWithExternalData;
export function writeOnnx(proto: ModelProto, opts: WriteOnnxOptions = {}): Uint8Array | OnnxWithExternalData {
  if (opts.externalData) return writeOnnxExternal(proto, opts.externalData, opts.file);
  let payload = 0;
  for (const { tensor } of allTensorProtos(proto)) payload += inlineBytes(tensor);
  if (payload > PROTOBUF_LIMIT) {
    fail(
      'E_UNSUPPORTED',
      `model holds ${payload} bytes of tensor data, over protobuf's 2 GiB limit: write it with externalData`,
      opts.file,
    );
  }
  return encode(proto, opts.file);
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Writes `proto` with every tensor payload of at least `sizeThreshold` bytes
 * (graph/subgraph initializers and tensor attributes such as Constant
 * values, stored raw or in typed fields) in a separate data file. Tensors
 * already external are read through the given sources and re-homed.
 * Sparse tensors and string tensors stay inline. `proto` is not modified.
 */
export function writeOnnxExternal(proto: ModelProto, ext: ExternalDataOptions, file?: string): OnnxWithExternalData {
  const threshold = ext.sizeThreshold ?? 1024;
  const align = ext.align ?? 4096;
  const keepShapes = ext.keepShapeTensorsInline ?? true;
  if (!ext.location || ext.location.includes('..') || ext.location.startsWith('/'))
    fail('E_ARG', `external data location "${ext.location}" must be a relative file name`, file);
  if (!(Number.isInteger(align) && align >= 1)) fail('E_ARG', `external data align must be a positive integer, got ${align}`, file);
  if (!(threshold >= 0)) fail('E_ARG', `external data sizeThreshold must be >= 0, got ${threshold}`, file);
  const skeleton = cloneSharingBytes(proto);
  const chunks: Uint8Array[] = [];
  const emit = ext.sink ?? ((c: Uint8Array) => void chunks.push(c));
  let offset = 0;
  let moved = 0;
  for (const { tensor: tp, slot, part } of allTensorProtos(skeleton)) {
    if (part !== undefined) continue; // sparse values/indices stay inline
    const where = describeSlot(slot);
    const layout = checkTensorProto(tp, { file, where });
    if (layout.dtype === 'string' || layout.storage === 'none') continue;
    const size = byteLength(layout.dtype, layout.count);
    const shapeLike = keepShapes && (layout.dtype === 'int64' || layout.dtype === 'int32') && layout.count <= 64;
    const stays = size < threshold || shapeLike;
    if (stays && layout.storage !== 'external') continue;
    let bytes: Uint8Array;
    if (layout.storage === 'external') {
      const label = `tensor '${tp.name}' (${where})`;
      bytes = readExternalBytes(externalDataInfo(tp, label, file), size, label, ext, file);
    } else {
      bytes = tensorFromProto(tp, { file, where }).data;
    }
    if (stays) {
      // A small tensor that was external comes back inline.
      tp.externalData = [];
      delete (tp as { dataLocation?: unknown }).dataLocation;
      tp.rawData = bytes as Uint8Array<ArrayBuffer>;
      continue;
    }
    const start = alignUp(offset, align);
    if (start > offset) emit(new Uint8Array(start - offset));
    emit(bytes);
    setExternal(tp, ext.location, start, size);
    offset = start + size;
    moved++;
  }
  for (const { tensor } of allTensorProtos(skeleton)) {
    if (isExternal(tensor)) continue;
    if (inlineBytes(tensor) > PROTOBUF_LIMIT)
      fail('E_UNSUPPORTED', `tensor '${tensor.name}' stays inline but is over protobuf's 2 GiB limit`, file);
  }
  const model = encode(skeleton, file);
  if (model.byteLength > PROTOBUF_LIMIT)
    fail('E_UNSUPPORTED', `model structure alone is ${model.byteLength} bytes, over protobuf's 2 GiB limit`, file);
  return { model, data: chunks, dataBytes: offset, movedTensors: moved };
}
