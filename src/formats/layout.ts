/**
 * Where the tensor payloads of a model sit in its bytes: the model's files
 * concatenated in a fixed order, and one byte range per payload. The
 * container (src/codec/container/layout.ts) packs from this: it keeps the
 * ranges worth a table entry as slots and codes everything else as the
 * skeleton. Produced by onnxByteLayout (formats/onnx/layout.ts),
 * safetensorsByteLayout (formats/safetensors.ts) and tfjsByteLayout
 * (formats/tfjs/layout.ts); lenient by design, so any file a reader can walk
 * packs byte-exactly, even one its validating reader would refuse.
 */
import type { DType } from '../core/dtypes.js';
import type { FormatName } from './types.js';

export interface PayloadRange {
  /** Tensor name ('' when the format gives none); not necessarily unique. */
  readonly name: string;
  /** Element type, or 'bytes' for an opaque payload (e.g. a varint-packed protobuf field). */
  readonly dtype: DType | 'bytes';
  readonly shape: readonly number[];
  /** Position of the payload in the concatenated files (bytes). */
  readonly offset: number;
  readonly length: number;
}

export interface LayoutFile {
  /** Relative path ('' for the single file of an ONNX or safetensors model). */
  readonly name: string;
  readonly length: number;
}

export interface ByteLayout {
  readonly format: FormatName;
  readonly files: readonly LayoutFile[];
  /** Every payload, in the format's walk order; ranges may alias each other (shared external data). */
  readonly ranges: readonly PayloadRange[];
}
