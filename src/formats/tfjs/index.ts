/** TF.js models (layers-model and graph-model JSON + weight shards): read, write, quantization arithmetic. */
export {
  TFJS_DTYPES,
  TFJS_QUANTIZATION_DTYPES,
  checkWeightsManifest,
  parseTfjsJson,
  tfjsModelKind,
  type TfjsDtype,
  type TfjsModelJson,
  type TfjsModelKind,
  type TfjsQuantization,
  type TfjsQuantizationDtype,
  type TfjsWeightEntry,
  type TfjsWeightsGroup,
} from './manifest.js';
export {
  dequantizeTfjsAffine,
  dequantizeTfjsAffineInt32,
  dequantizeTfjsFloat16,
  quantizeTfjsAffine,
  quantizeTfjsFloat16,
  type TfjsAffineDtype,
  type TfjsAffineQuantized,
} from './quantization.js';
export { tfjsByteLayout, tfjsShardPaths } from './layout.js';
export { decodeTfjsWeight, readTfjs, tfjsStoredWeight, type TfjsModel, type TfjsShardLoader, type TfjsStoredWeight } from './read.js';
export {
  TFJS_DEFAULT_SHARD_BYTES,
  tfjsWriteInput,
  writeTfjs,
  type TfjsDtypeConversion,
  type TfjsQuantizeChoice,
  type TfjsShardFile,
  type TfjsWriteResult,
  type TfjsWriteTensor,
  type WriteTfjsOptions,
} from './write.js';
