/**
 * Post-training quantization of ONNX models. `quantizeModel` applies one
 * scheme and returns the new model with a per-tensor report; it refuses
 * (E_UNSUPPORTED) when the scheme finds nothing it can quantize.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { compactNames } from '../graph/compact-names.js';
import { fileFormatNames, getScheme } from './schemes.js';
import type { QuantizeOptions, SchemeResult } from './types.js';

export {
  budgetedSchemes,
  fileFormatNames,
  getScheme,
  listSchemes,
  schemesForFileFormat,
  type ErrorBudgets,
  type SchemeFormats,
  type SchemeTraits,
} from './schemes.js';
export type { QuantizeOptions, SchemeResult, TensorReport, CalibrationFeed } from './types.js';
export {
  computeQuantParams,
  intRange,
  quantizePerTensor,
  quantizePerChannel,
  dequantizePerTensor,
  dequantizePerChannel,
  errorStats,
} from './linear.js';
export { kmeans1d, kmeansOptimal1d, decodeCodebook } from './kmeans.js';
export { quantizeMatMulNBits, dequantizeMatMulNBits, quantizeBlocked } from './blockwise.js';
export { RangeCollector, computeRange, CALIBRATION_METHODS, type CalibrationMethod } from './calibrate.js';

export async function quantizeModel(model: ModelProto, schemeId: string, opts: QuantizeOptions = {}): Promise<SchemeResult> {
  const scheme = getScheme(schemeId);
  if (scheme.needsCalibration && !opts.calibration?.length) {
    throw new ModelpressError('E_ARG', `scheme ${scheme.id} needs calibration data (--calib <data spec>)`);
  }
  if (!scheme.apply) {
    throw new ModelpressError(
      'E_ARG',
      `scheme ${scheme.id} applies to ${fileFormatNames(scheme).join(' and ')} models only, not ONNX`,
      opts.file === undefined ? {} : { file: opts.file },
    );
  }
  const result = await scheme.apply(model, opts);
  const done = result.tensors.filter((t) => t.action !== 'skipped');
  if (done.length === 0) {
    const reasons = [...new Set(result.tensors.map((t) => t.reason).filter(Boolean))];
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `scheme ${scheme.id} found nothing to quantize${reasons.length ? ` (${reasons.join('; ')})` : ' (no float32 weights feed an op it handles)'}`,
      opts.file === undefined ? {} : { file: opts.file },
    );
  }
  if (opts.compactNames) {
    const c = compactNames(result.model, opts.file);
    return {
      ...result,
      notes: [
        ...result.notes,
        `${c.tensors} tensor names shortened and ${c.nodes} node names cleared (--compact-names); graph inputs and outputs keep theirs`,
      ],
    };
  }
  return result;
}
