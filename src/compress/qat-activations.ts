/**
 * Activation quantization parameters of int8 QAT: uint8 asymmetric per
 * tensor, computed exactly as static QDQ export computes them from a range.
 * (Which activations: the exporter is asked, see qat.ts.)
 */
import { computeQuantParams, intRange, type QuantParams } from '../quantize/linear.js';

/** uint8 asymmetric scale / zero point of an activation range, exactly as static QDQ computes them. */
export function activationParams(min: number, max: number): QuantParams {
  return computeQuantParams(min, max, intRange(8, false, false, false), false);
}
