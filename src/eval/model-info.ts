/**
 * Static facts about an ONNX model for reports: file size and parameter count
 * (read from tensor dims, no payload decoding).
 */
import { readOnnx } from '../formats/onnx/read.js';
import { tensorSlots } from '../formats/onnx/walk.js';
import { ONNX_TYPE } from '../core/dtypes.js';

export interface ModelInfo {
  readonly sizeBytes: number;
  /**
   * Elements stored in the model's tensors: initializers and Constant nodes,
   * subgraphs included; sparse tensors count their stored values. String
   * tensors and operator attributes that merely hold a fill value
   * (ConstantOfShape's `value`) are not counted — the same count as `inspect`.
   */
  readonly params: number;
  readonly tensors: number;
}

/** Size and parameter count of an ONNX model given as bytes (external data counts toward params, not size). */
export function onnxModelInfo(bytes: Uint8Array, file?: string): ModelInfo {
  const model = readOnnx(bytes, { file, validate: false });
  let params = 0;
  let tensors = 0;
  for (const slot of tensorSlots(model.proto)) {
    if ((slot.kind === 'attribute' || slot.kind === 'sparse_attribute') && slot.node.opType !== 'Constant') continue;
    const t = slot.kind === 'initializer' || slot.kind === 'attribute' ? slot.tensor : slot.sparse.values;
    if (!t || t.dataType === ONNX_TYPE.string) continue;
    tensors++;
    params += t.dims.reduce((a, d) => a * Number(d), 1);
  }
  return { sizeBytes: bytes.byteLength, params, tensors };
}
