/**
 * The layers train-time compression works on: float32 initializers of the
 * main graph used as the weight of a Conv, Gemm or MatMul (biases,
 * normalization parameters and embeddings stay as they are).
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { findWeights, sharedRole, type WeightDef, type WeightRole } from '../graph/weights.js';

export interface CompressibleLayer {
  /** Initializer name of the weight. */
  readonly name: string;
  /** 'conv' for Conv/ConvTranspose weights, 'fc' for Gemm/MatMul weights. */
  readonly kind: 'conv' | 'fc';
  readonly role: WeightRole;
  readonly shape: readonly number[];
  /** Number of weights. */
  readonly count: number;
  readonly def: WeightDef;
}

/** Conv/Gemm/MatMul float32 weight initializers of the main graph, in definition order. */
export function compressibleLayers(model: ModelProto): CompressibleLayer[] {
  const out: CompressibleLayer[] = [];
  for (const def of findWeights(model)) {
    if (def.path !== '' || def.kind !== 'initializer' || def.dtype !== 'float32') continue;
    const role = sharedRole(def);
    if (!role || (role.role !== 'conv' && role.role !== 'conv-transpose' && role.role !== 'gemm' && role.role !== 'matmul')) continue;
    const count = def.shape.reduce((a, b) => a * b, 1);
    out.push({
      name: def.name,
      kind: role.role === 'conv' || role.role === 'conv-transpose' ? 'conv' : 'fc',
      role,
      shape: def.shape,
      count,
      def,
    });
  }
  return out;
}

/** compressibleLayers, or E_UNSUPPORTED naming the command when there are none. */
export function requireLayers(model: ModelProto, what: string, file?: string): CompressibleLayer[] {
  const layers = compressibleLayers(model);
  if (layers.length === 0) {
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `${what}: the model has no float32 Conv/Gemm/MatMul weight initializers to work on`,
      file === undefined ? {} : { file },
    );
  }
  return layers;
}

/** Fraction of exact zeros in `x`. */
export function zeroFraction(x: Float32Array): number {
  let z = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === 0) z++;
  return x.length === 0 ? 0 : z / x.length;
}
