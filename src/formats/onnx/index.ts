/**
 * ONNX read/write for modelpress (browser-safe; file access with external
 * data lives in src/node/onnx-external.ts).
 */
export { readOnnx, validateTensors } from './read.js';
export type { OnnxModel, ReadOnnxOptions } from './read.js';
export { writeOnnx, writeOnnxExternal, PROTOBUF_LIMIT } from './write.js';
export type { ExternalDataOptions, WriteOnnxOptions, OnnxWithExternalData } from './write.js';
export { tensorFromProto, tensorToProto, checkTensorProto, typedFieldFor, payloadFieldName } from './tensor-proto.js';
export type { PayloadField, TensorLayout, TensorDecodeOptions, TensorEncodeOptions } from './tensor-proto.js';
export { externalDataInfo, isExternal, readExternalBytes } from './external.js';
export type { ExternalLoader, ExternalRangeReader, ExternalDataInfo, ExternalSources } from './external.js';
export { inlineExternalData, hasExternalData } from './inline.js';
export {
  listOnnxTensors,
  weightSlots,
  readWeightSlot,
  describeWeightSlot,
  constantValue,
  isConstantNode,
  CONSTANT_VALUE_ATTRIBUTES,
} from './list.js';
export type { WeightSlot } from './list.js';
export { denseFromSparse, sparseLinearIndices, sparseWithDense } from './sparse.js';
export { onnxSummary } from './summary.js';
export type { OnnxSummary, OnnxValueSummary } from './summary.js';
export { replaceOnnxTensors } from './patch.js';
export type { OnnxTensorReplacement, ReplaceOptions } from './patch.js';
export { stripWeights, restoreWeights } from './strip.js';
export type { StrippedModel, StrippedPayload, StrippedField, StripOptions } from './strip.js';
export { walkGraph, walkModel, subgraphsOf, nodeLabel, tensorSlots, allTensorProtos, describeSlot } from './walk.js';
export type { GraphVisit, FunctionVisit, TensorSlot } from './walk.js';
export { cloneSharingBytes } from './clone.js';
export { onnxByteLayout, onnxExternalRefs, type ExternalRef } from './layout.js';
