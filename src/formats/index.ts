/**
 * `modelpress/formats`: reading and writing the model formats modelpress
 * handles, from and to bytes (browser-safe; files are read in `modelpress/node`).
 */
export type { FormatName, NamedTensor, TensorLocation } from './types.js';
export { describeLocation } from './types.js';
export type { DetectedFormat } from './detect.js';
export { detectFormat, hasMpzMagic, looksLikeOnnx, looksLikeSafetensors, looksLikeTfjsJson } from './detect.js';
export type { OnnxModel, ReadOnnxOptions, WriteOnnxOptions, OnnxSummary, OnnxValueSummary } from './onnx/index.js';
export {
  readOnnx,
  writeOnnx,
  listOnnxTensors,
  onnxSummary,
  hasExternalData,
  inlineExternalData,
  tensorFromProto,
  tensorToProto,
} from './onnx/index.js';
export type { SafetensorsContent, SafetensorsHeader, SafetensorsHeaderEntry } from './safetensors.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, parseSafetensorsHeader } from './safetensors.js';
export type {
  TfjsModel,
  TfjsModelJson,
  TfjsModelKind,
  TfjsShardLoader,
  TfjsWriteResult,
  TfjsWriteTensor,
  WriteTfjsOptions,
} from './tfjs/index.js';
export { readTfjs, writeTfjs, tfjsWriteInput, parseTfjsJson, tfjsModelKind } from './tfjs/index.js';
