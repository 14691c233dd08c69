/**
 * Decoding an ONNX file into a ModelProto (protobuf-es), turning every decode
 * failure into a ModelpressError that names the file and the problem, and
 * checking every tensor's payload against its dims and dtype up front so
 * later accessors meet only consistent tensors.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError, fail } from '../../core/errors.js';
import type { ExternalLoader, ExternalRangeReader } from './external.js';
import { checkTensorProto } from './tensor-proto.js';
import { allTensorProtos, describeSlot } from './walk.js';

/** A decoded ONNX model. `bytes` are the file's bytes the proto was decoded from (payloads are views into them). */
export interface OnnxModel {
  readonly proto: ModelProto;
  readonly bytes: Uint8Array;
  /** The file the model came from, named in errors. */
  readonly file?: string | undefined;
  /** How external data files are read (kept from readOnnx for listOnnxTensors). */
  readonly loadExternal?: ExternalLoader | undefined;
  readonly readExternal?: ExternalRangeReader | undefined;
}

export interface ReadOnnxOptions {
  /** File name for error messages. */
  readonly file?: string | undefined;
  /** Whole-file loader for external data, `location` relative to the model's directory. */
  readonly loadExternal?: ExternalLoader | undefined;
  /** Ranged reader for external data (preferred over loadExternal; needed for data files over 2 GB). */
  readonly readExternal?: ExternalRangeReader | undefined;
  /** Check every tensor's payload size against dims x dtype while reading (default true). */
  readonly validate?: boolean | undefined;
}

/** Maps a protobuf-es decode error to our error codes. */
function decodeError(e: unknown, bytes: Uint8Array, file: string | undefined): ModelpressError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/premature EOF|out of range|offset is outside the bounds|invalid varint/i.test(msg)) {
    return new ModelpressError(
      'E_TRUNCATED',
      `ONNX protobuf ends early or has a length running past the end of the ${bytes.byteLength}-byte file (${msg})`,
      { file, cause: e },
    );
  }
  if (/recursion depth/i.test(msg)) {
    return new ModelpressError('E_CORRUPT', `ONNX protobuf nests messages too deeply (${msg})`, { file, cause: e });
  }
  return new ModelpressError('E_FORMAT', `not a valid ONNX protobuf: ${msg}`, { file, cause: e });
}

/**
 * Decodes an ONNX model. Throws E_TRUNCATED for a file that ends early,
 * E_FORMAT for bytes that are not an ONNX ModelProto, E_CORRUPT for a tensor
 * whose payload contradicts its dims/dtype.
 */
export function readOnnx(bytes: Uint8Array, opts: ReadOnnxOptions = {}): OnnxModel {
  const file = opts.file;
  if (bytes.byteLength === 0) fail('E_TRUNCATED', 'empty file, not an ONNX model', file);
  // A plain Uint8Array view (not a Node Buffer, whose slice() does not copy) so every payload subarray is plain too.
  if (Object.getPrototypeOf(bytes) !== Uint8Array.prototype) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw decodeError(e, bytes, file);
  }
  // Protobuf accepts many byte strings; a model must at least say its IR version and carry a graph.
  if (!proto.graph) fail('E_FORMAT', 'not an ONNX model: ModelProto has no graph', file);
  if (proto.irVersion <= 0n) fail('E_FORMAT', `not an ONNX model: ir_version is ${proto.irVersion}`, file);
  // opset_import (field 8) follows the graph (field 7): a file cut right after the graph decodes cleanly but lacks it.
  if (proto.irVersion >= 3n && proto.opsetImport.length === 0)
    fail('E_FORMAT', `ONNX model (IR version ${proto.irVersion}) has no opset_import; the file may be truncated`, file);
  if (opts.validate ?? true) validateTensors(proto, file);
  return { proto, bytes, file, loadExternal: opts.loadExternal, readExternal: opts.readExternal };
}

/** Checks every TensorProto in the model (graph, subgraphs, attributes, sparse, functions). */
export function validateTensors(proto: ModelProto, file?: string): void {
  for (const { tensor, slot, part } of allTensorProtos(proto)) {
    checkTensorProto(tensor, { file, where: describeSlot(slot, part) });
  }
}
