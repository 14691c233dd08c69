/**
 * `modelpress`: the browser-safe library core. No Node built-ins and no
 * onnxruntime package are imported from here: models go in and come out as
 * bytes. File helpers and the onnxruntime-node runner are in `modelpress/node`,
 * the .mpz decoder and the onnxruntime-web runner in `modelpress/browser`.
 * docs/API.md is the guide; every name below is public, nothing else is.
 */

// errors, dtypes, tensors
export type { ErrorCode } from '../core/errors.js';
export { ModelpressError, isModelpressError } from '../core/errors.js';
export type { DType } from '../core/dtypes.js';
export { DTYPES, byteLength, elementCount, isDType } from '../core/dtypes.js';
export type { Tensor } from '../core/tensor.js';
export { makeTensor, toFloat32, fromFloat32, typedView } from '../core/tensor.js';

// formats: read and write models from and to bytes
export type {
  DetectedFormat,
  FormatName,
  NamedTensor,
  OnnxModel,
  OnnxSummary,
  ReadOnnxOptions,
  SafetensorsContent,
  TensorLocation,
  TfjsModel,
  TfjsModelJson,
  TfjsShardLoader,
  TfjsWriteResult,
  TfjsWriteTensor,
  WriteOnnxOptions,
  WriteTfjsOptions,
} from '../formats/index.js';
export {
  describeLocation,
  detectFormat,
  listOnnxTensors,
  onnxSummary,
  readOnnx,
  readSafetensors,
  readTfjs,
  tfjsWriteInput,
  writeOnnx,
  writeSafetensors,
  writeTfjs,
} from '../formats/index.js';

// inspect: what `modelpress inspect --json` prints, from a model read from bytes; per-tensor statistics
export type { InspectInput, InspectReport, InspectTensor, InspectTotalsRow } from '../report/inspect.js';
export { buildInspectReport, INSPECT_SCHEMA } from '../report/inspect.js';
export type { DuplicateGroup, TensorStats } from '../core/stats.js';
export { findDuplicateGroups, tensorStats } from '../core/stats.js';

// quantize
export type { QuantizeOptions, SchemeResult, TensorReport, CalibrationFeed, SchemeTraits } from '../quantize/index.js';
export { quantizeModel, listSchemes, getScheme } from '../quantize/index.js';
export type { TfjsScheme } from '../quantize/weights-file.js';
export { planTfjsQuantization, quantizeSafetensorsTensors, safetensorsSchemeFor, tfjsSchemeFor } from '../quantize/weights-file.js';

// prune
export type {
  ChannelPruneOptions,
  ChannelPruneResult,
  LayerPruneReport,
  NmPattern,
  UnstructuredMethod,
  UnstructuredPruneResult,
  WeightFilter,
} from '../prune/index.js';
export { parseNmPattern, pruneChannels, pruneUnstructured } from '../prune/index.js';

// lossless packing into .mpz
export type {
  PackInput,
  PackOptions,
  PackReport,
  PackResult,
  ReadOptions,
  SourceFormat,
  TensorPackReport,
  UnpackedFile,
  UnpackedModel,
} from '../codec/container/index.js';
export { listMpzTensors, openMpz, packModel, readTensor, unpackModel, unpackStream } from '../codec/container/index.js';

// evaluate: run a model (a Runner from modelpress/node or modelpress/browser) on feeds
export type { EvaluateOptions, EvaluationResult, ClassificationResult } from '../eval/evaluate.js';
export { evaluate } from '../eval/evaluate.js';
export type { FeedSource, SourceOptions } from '../eval/feeds.js';
export { datasetSource, randomSource } from '../eval/feeds.js';
export type { FidelityStats } from '../eval/fidelity.js';
export type { ClassificationReport, LatencyStats } from '../eval/metrics.js';
export type { Dataset } from '../data/dataset.js';
// datasets from bytes (a page's dropped .npy): the array as a Dataset for datasetSource, its first samples
export { parseNpy } from '../eval/datasets/npy.js';
export { parseNpz } from '../eval/datasets/npz.js';
export { datasetFromArrays } from '../eval/datasets/dataset.js';
export { limitSamples } from '../data/dataset.js';
export type { IoInfo, Runner, RunnerFactory, RunnerOptions } from '../runtime/runner.js';
