/**
 * Which weights pruning touches: the weight inputs of Conv, ConvTranspose,
 * Gemm and MatMul (found with the quantizer's findWeights + sharedRole), not
 * biases, BatchNormalization parameters or shape constants. `include` /
 * `exclude` patterns are the one selection language of src/graph/select.ts
 * (glob with `*` / `?`, or /regex/) over the weight name and its consumers'
 * node names and op types.
 */
import type { ModelProto } from 'onnx-buf';
import type { DType } from '../core/dtypes.js';
import { tensorFromProto } from '../formats/onnx/tensor-proto.js';
import { toFloat32 } from '../core/tensor.js';
import { compileFilter, patternRegExp, selectionKeys } from '../graph/select.js';
import { findWeights, sharedRole, type WeightRole } from '../graph/weights.js';

const PRUNABLE_ROLES: ReadonlySet<WeightRole['role']> = new Set(['conv', 'conv-transpose', 'gemm', 'matmul']);
const FLOAT_DTYPES: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

export interface WeightFilter {
  /** Only weights matched by one of these patterns (src/graph/select.ts). */
  include?: readonly string[];
  /** Never weights matched by one of these patterns. */
  exclude?: readonly string[];
}

export interface PrunableWeight {
  readonly name: string;
  /** Graph path ('' = main graph). */
  readonly graph: string;
  readonly kind: 'initializer' | 'constant';
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly role: WeightRole;
  /** Op type of the consumer(s), e.g. 'Conv'. */
  readonly op: string;
  /** Labels of the consuming nodes. */
  readonly consumers: readonly string[];
  /** Current values as float32 (a private copy). */
  readonly values: Float32Array;
}

export interface SkippedWeight {
  readonly name: string;
  readonly reason: string;
}

/** A selection pattern as a RegExp (kept under its old name for the channel planner). */
export const globToRegExp = patternRegExp;

/** The prunable weights of `model` (after the filter), and weight-like tensors left out with the reason. */
export function selectPrunableWeights(
  model: ModelProto,
  filter: WeightFilter = {},
): { weights: PrunableWeight[]; skipped: SkippedWeight[] } {
  const selection = compileFilter(filter.include, filter.exclude);
  const weights: PrunableWeight[] = [];
  const skipped: SkippedWeight[] = [];
  for (const def of findWeights(model)) {
    const role = sharedRole(def);
    if (!role || !PRUNABLE_ROLES.has(role.role)) {
      // Tensors some consumer uses as a Conv/Gemm/MatMul weight, but not all: say why they are left.
      if (!role && def.consumers.some((c) => ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(c.node.opType) && c.inputIndex === 1)) {
        skipped.push({
          name: def.name,
          reason: def.graphOutput ? 'is also a graph output' : 'is shared with a node that does not use it as a weight',
        });
      }
      continue;
    }
    if (selection.reasonSkipped(selectionKeys(def)) !== undefined) continue;
    if (!def.dtype || !FLOAT_DTYPES.has(def.dtype)) {
      skipped.push({ name: def.name, reason: `dtype ${def.dtype ?? 'unknown'} is not a float type` });
      continue;
    }
    const tensor = tensorFromProto(def.tensor);
    weights.push({
      name: def.name,
      graph: def.path,
      kind: def.kind,
      dtype: def.dtype,
      shape: def.shape,
      role,
      op: def.consumers[0]!.node.opType,
      consumers: def.consumers.map((c) => c.label),
      values: toFloat32(tensor),
    });
  }
  return { weights, skipped };
}
