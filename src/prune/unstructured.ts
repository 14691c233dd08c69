/**
 * Unstructured pruning of a model's weights: chooses the masks with one of the
 * pure methods (per-layer magnitude, Deep Compression quality threshold,
 * global magnitude, N:M) and writes the zeroed weights into a new ModelProto.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { fromFloat32 } from '../core/tensor.js';
import { replaceOnnxTensors } from '../formats/onnx/patch.js';
import { globalMagnitudePrune } from './global.js';
import { magnitudePrune, qualityPrune, checkSparsity } from './magnitude.js';
import { countZeros, type PruneResult } from './mask.js';
import { nmPrune, nmUnfitReason, type NmPattern } from './nm.js';
import { selectPrunableWeights, type PrunableWeight, type SkippedWeight, type WeightFilter } from './select.js';

/** How to choose the weights to zero. */
export type UnstructuredMethod =
  /** Each layer loses exactly round(sparsity x size) weights of smallest |w|. */
  | { kind: 'magnitude'; sparsity: number }
  /** Each layer loses every |w| < quality x std(layer) (Deep Compression). */
  | { kind: 'quality'; quality: number }
  /** One magnitude threshold over all selected layers; exactly round(sparsity x total) pruned. */
  | { kind: 'global'; sparsity: number }
  /** N of every M consecutive weights along the input axis kept. */
  | { kind: 'nm'; pattern: NmPattern };

export interface LayerPruneReport {
  readonly name: string;
  readonly graph: string;
  readonly op: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly zerosBefore: number;
  readonly zerosAfter: number;
  readonly sparsityBefore: number;
  readonly sparsityAfter: number;
  /** |w| below which weights were pruned (quality method). */
  readonly threshold?: number;
}

export interface UnstructuredPruneResult {
  readonly model: ModelProto;
  readonly layers: LayerPruneReport[];
  /** Masks by weight name (1 kept, 0 pruned). */
  readonly masks: Map<string, Uint8Array>;
  /** Weights left alone, with the reason. */
  readonly skipped: SkippedWeight[];
}

/** A layer as the mask chooser sees it. */
export interface MaskLayer {
  readonly values: Float32Array;
  readonly shape: readonly number[];
  /** Axis the N:M groups run along. */
  readonly reductionAxis: number | undefined;
}

/** Masks for `layers` by `method` (pure; `values` are not modified). */
export function chooseMasks(layers: readonly MaskLayer[], method: UnstructuredMethod): (PruneResult & { threshold?: number })[] {
  switch (method.kind) {
    case 'magnitude':
      checkSparsity(method.sparsity);
      return layers.map((l) => magnitudePrune(l.values, method.sparsity));
    case 'quality':
      return layers.map((l) => qualityPrune(l.values, method.quality));
    case 'global':
      return globalMagnitudePrune(
        layers.map((l) => l.values),
        method.sparsity,
      ).layers;
    case 'nm':
      return layers.map((l) => nmPrune(l.values, l.shape, l.reductionAxis ?? 0, method.pattern));
  }
}

/** The weights `method` can prune, and those it cannot (N:M needs the input axis divisible by M). */
export function eligibleWeights(
  model: ModelProto,
  method: UnstructuredMethod,
  filter: WeightFilter = {},
): { weights: PrunableWeight[]; skipped: SkippedWeight[] } {
  const { weights, skipped } = selectPrunableWeights(model, filter);
  if (method.kind !== 'nm') return { weights, skipped: [...skipped] };
  const fit: PrunableWeight[] = [];
  const out = [...skipped];
  for (const w of weights) {
    const axis = w.role.reductionAxis;
    const why = axis === undefined ? 'no input axis' : nmUnfitReason(w.shape, axis, method.pattern);
    if (why) out.push({ name: w.name, reason: `${method.pattern.n}:${method.pattern.m} does not fit: ${why}` });
    else fit.push(w);
  }
  return { weights: fit, skipped: out };
}

/** Prunes `model` (not modified) by `method`; E_UNSUPPORTED when no weight can be pruned. */
export function pruneUnstructured(model: ModelProto, method: UnstructuredMethod, filter: WeightFilter = {}): UnstructuredPruneResult {
  const { weights, skipped } = eligibleWeights(model, method, filter);
  if (weights.length === 0) {
    const why =
      skipped.length > 0 ? `: ${skipped.map((s) => `${s.name} ${s.reason}`).join('; ')}` : ' (no Conv/Gemm/MatMul weights matched)';
    throw new ModelpressError('E_UNSUPPORTED', `no prunable weights${why}`);
  }
  const results = chooseMasks(
    weights.map((w) => ({ values: w.values, shape: w.shape, reductionAxis: w.role.reductionAxis })),
    method,
  );
  const layers: LayerPruneReport[] = [];
  const masks = new Map<string, Uint8Array>();
  weights.forEach((w, i) => {
    const r = results[i]!;
    const before = countZeros(w.values);
    const after = countZeros(r.values);
    masks.set(w.name, r.mask);
    layers.push({
      name: w.name,
      graph: w.graph,
      op: w.op,
      shape: w.shape,
      params: w.values.length,
      zerosBefore: before,
      zerosAfter: after,
      sparsityBefore: before / w.values.length,
      sparsityAfter: after / w.values.length,
      ...(r.threshold === undefined ? {} : { threshold: r.threshold }),
    });
  });
  const pruned = replaceOnnxTensors(
    model,
    weights.map((w, i) => ({ name: w.name, graph: w.graph, tensor: fromFloat32(results[i]!.values, w.dtype, w.shape) })),
  );
  return { model: pruned, layers, masks, skipped };
}
