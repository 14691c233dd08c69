/** Parameter and nonzero counts of a model's float weights (initializers and Constant nodes, subgraphs included). */
import type { ModelProto } from 'onnx-buf';
import { toFloat32 } from '../core/tensor.js';
import { tensorFromProto } from '../formats/onnx/tensor-proto.js';
import { findWeights } from '../graph/weights.js';
import { countZeros } from './mask.js';

export interface ParamStats {
  /** Float weight elements. */
  readonly params: number;
  readonly nonzeros: number;
}

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);

export function paramStats(model: ModelProto): ParamStats {
  let params = 0;
  let nonzeros = 0;
  for (const w of findWeights(model)) {
    if (!w.dtype || !FLOATS.has(w.dtype)) continue;
    const v = toFloat32(tensorFromProto(w.tensor));
    params += v.length;
    nonzeros += v.length - countZeros(v);
  }
  return { params, nonzeros };
}

/** Zeros of each named weight in `model` (for per-layer reports after fine-tuning). */
export function zerosByName(model: ModelProto, names: readonly string[]): Map<string, { params: number; zeros: number }> {
  const wanted = new Set(names);
  const out = new Map<string, { params: number; zeros: number }>();
  for (const w of findWeights(model)) {
    if (!wanted.has(w.name) || out.has(w.name)) continue;
    const v = toFloat32(tensorFromProto(w.tensor));
    out.set(w.name, { params: v.length, zeros: countZeros(v) });
  }
  return out;
}
