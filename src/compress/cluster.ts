/**
 * Weight sharing with centroid fine-tuning (Deep Compression, section 3):
 * each Conv/Gemm/MatMul weight is clustered by 1-D k-means into 2^bits
 * centroids (exact zeros of a pruned layer keep a centroid of their own that
 * stays exactly 0), the layer is rewritten as
 *   W = Gather(codebook[k] float32, Cast(indices uint8 [shape] -> int32))
 * and the model is fine-tuned with the codebooks trainable and the indices
 * fixed. The Gather gradient rule scatter-adds the weight gradients into the
 * centroids, so each centroid moves by the sum of its cluster's gradients
 * (section 3.3). The output keeps this Gather form, the same layout as
 * `quantizeModel(model, 'kmeans:<bits>')`, which onnxruntime runs as is;
 * indices are stored one byte each (entropy coding packs them further).
 */
import type { LossSpec } from '../train/autodiff/types.js';
import type { BatchFeeds } from '../train/trainer/step-session.js';
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { makeAttributes } from '../graph/attributes.js';
import { cloneModel, getInitializerValues } from '../graph/model-edit.js';
import { NameGen } from '../graph/names.js';
import { makeTensorProto, readTensorProtoFloat32 } from '../graph/tensor-proto.js';
import { kmeans1d, kmeansOptimal1d, type KmeansInit } from '../quantize/kmeans.js';
import { allNames } from '../graph/weights.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { evaluateModel, train, type TrainProgress, type EpochRecord, type EvalResult } from '../train/trainer.js';
import type { Dataset } from '../data/dataset.js';
import type { OptimizerSpec } from '../train/optim/index.js';
import { requireLayers, type CompressibleLayer } from './layers.js';
import { ONNX_TYPE } from '../core/dtypes.js';

export const KMEANS_INITS: readonly KmeansInit[] = ['linear', 'density', 'random', 'kmeans++'];

export interface ClusterOptions {
  /** Bits per weight index (1..8): 2^bits centroids per layer. */
  bits: number;
  /** Bits for Conv weights (default `bits`). */
  bitsConv?: number;
  /** Bits for Gemm/MatMul weights (default `bits`). */
  bitsFc?: number;
  /** Centroid initialization; default 'linear' (Deep Compression's best). 'exact' = optimal 1-D clustering. */
  init?: KmeansInit | 'exact';
  /** Seed of 'random' / 'kmeans++' initialization; default 1. */
  seed?: number;
  /** Names the model in error messages. */
  file?: string;
}

export interface ClusteredLayer {
  /** Weight initializer name (now the Gather's output). */
  name: string;
  kind: 'conv' | 'fc';
  bits: number;
  shape: readonly number[];
  /** Centroids used (at most 2^bits; fewer when the layer has fewer distinct values). */
  centroids: number;
  /** Exact zeros in the layer, kept at zero by a fixed centroid. */
  zeros: number;
  /** Initializer names of the codebook (float32 [centroids]) and the indices (uint8, the weight's shape). */
  codebook: string;
  indices: string;
  /** Mean squared error of the clustered weights right after k-means. */
  mse: number;
}

export interface ClusterWeightsResult {
  /** The Gather-form model (not fine-tuned). */
  model: ModelProto;
  layers: ClusteredLayer[];
  /** Codebook masks: 0 on the zero centroid (held at exactly 0 while fine-tuning), 1 elsewhere. */
  masks: Map<string, Uint8Array>;
}

export function checkBits(bits: number, what: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8)
    throw new ModelpressError('E_ARG', `${what} must be an integer in 1..8 (uint8 indices), got ${bits}`);
}

/** k-means clusters every Conv/Gemm/MatMul weight of `input` (not mutated) and rewrites it in Gather form. */
export function clusterWeights(input: ModelProto, opts: ClusterOptions): ClusterWeightsResult {
  checkBits(opts.bits, 'bits');
  const bitsConv = opts.bitsConv ?? opts.bits;
  const bitsFc = opts.bitsFc ?? opts.bits;
  checkBits(bitsConv, 'conv bits');
  checkBits(bitsFc, 'fc bits');
  const init = opts.init ?? 'linear';
  if (init !== 'exact' && !KMEANS_INITS.includes(init))
    throw new ModelpressError('E_ARG', `init must be one of ${[...KMEANS_INITS, 'exact'].join(', ')}, got '${init}'`);
  const model = cloneModel(input);
  const layers = requireLayers(model, 'cluster', opts.file);
  const graph = model.graph!;
  const names = new NameGen(allNames(model));
  const out: ClusteredLayer[] = [];
  const masks = new Map<string, Uint8Array>();
  const decoders = [];
  for (const layer of layers) {
    const bits = layer.kind === 'conv' ? bitsConv : bitsFc;
    const x = readTensorProtoFloat32(layer.def.tensor);
    let zeros = 0;
    for (let i = 0; i < x.length; i++) if (x[i] === 0) zeros++;
    const zeroCentroid = zeros > 0;
    const k = 2 ** bits;
    const r = init === 'exact' ? kmeansOptimal1d(x, { k, zeroCentroid }) : kmeans1d(x, { k, zeroCentroid, init, seed: opts.seed ?? 1 });
    let se = 0;
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - r.centroids[r.indices[i]!]!;
      se += d * d;
    }
    const codebook = names.fresh(`${layer.name}_codebook`);
    const indices = names.fresh(`${layer.name}_indices`);
    const indices32 = names.fresh(`${layer.name}_indices_int32`);
    graph.initializer.push(makeTensorProto(codebook, 'float32', [r.centroids.length], r.centroids));
    graph.initializer.push(makeTensorProto(indices, 'uint8', layer.shape, Uint8Array.from(r.indices)));
    decoders.push(
      create(NodeProtoSchema, {
        name: names.fresh(`${layer.name}_Cast`),
        opType: 'Cast',
        input: [indices],
        output: [indices32],
        attribute: makeAttributes({ to: ONNX_TYPE.int32 }),
      }),
      create(NodeProtoSchema, {
        name: names.fresh(`${layer.name}_Gather`),
        opType: 'Gather',
        input: [codebook, indices32],
        output: [layer.name],
        attribute: makeAttributes({ axis: 0 }),
      }),
    );
    const mask = new Uint8Array(r.centroids.length).fill(1);
    if (zeroCentroid) {
      const z = r.centroids.indexOf(0);
      if (z >= 0) mask[z] = 0;
    }
    masks.set(codebook, mask);
    out.push({
      name: layer.name,
      kind: layer.kind,
      bits,
      shape: layer.shape,
      centroids: r.centroids.length,
      zeros,
      codebook,
      indices,
      mse: x.length ? se / x.length : 0,
    });
  }
  const replaced = new Set(layers.map((l: CompressibleLayer) => l.name));
  graph.initializer = graph.initializer.filter((t) => !replaced.has(t.name));
  graph.input = graph.input.filter((v) => !replaced.has(v.name));
  graph.node.unshift(...decoders);
  return { model, layers: out, masks };
}

export interface ClusterFinetuneOptions extends ClusterOptions {
  /** onnxruntime-node or -web. */
  openRunner: RunnerFactory;
  /** Training data for centroid fine-tuning; without it the k-means result is returned as is. */
  train?: Dataset;
  /** Data to measure accuracy before and after (test split). */
  test?: Dataset;
  /** Fine-tuning epochs (default 1 when `train` is given). */
  epochs?: number;
  batchSize?: number;
  /** Optimizer; default Adam with lr 1e-4 (centroids move little). */
  optimizer?: OptimizerSpec;
  /** Seed of the shuffling; default 0. */
  trainSeed?: number;
  /** Train the biases (and other non-codebook float parameters) too; default true. */
  trainOthers?: boolean;
  /** Loss; default cross-entropy on the labels. Label-free: MSE against the input model's outputs (train/teacher.ts feeds). */
  loss?: LossSpec;
  /** Per-batch inputs of the loss (the teacher's outputs). */
  batchFeeds?: BatchFeeds;
  onProgress?: (e: TrainProgress) => void;
}

export interface ClusterResult extends ClusterWeightsResult {
  /** Accuracy on `test`: the input model, right after k-means, after fine-tuning. */
  accuracy?: { input: EvalResult; clustered: EvalResult; finetuned?: EvalResult };
  history: EpochRecord[];
  /** The k-means result before fine-tuning. */
  clusteredModel: ModelProto;
}

/** clusterWeights, then centroid fine-tuning on `train` when given. */
export async function clusterModel(input: ModelProto, opts: ClusterFinetuneOptions): Promise<ClusterResult> {
  const clustered = clusterWeights(input, opts);
  const where = opts.file === undefined ? {} : { file: opts.file };
  const labelled = opts.test !== undefined && opts.test.y !== undefined;
  const inputAcc = labelled ? await evaluateModel(opts.openRunner, input, opts.test!, where) : undefined;
  const clusteredAcc = labelled ? await evaluateModel(opts.openRunner, clustered.model, opts.test!, where) : undefined;
  let model = clustered.model;
  let history: EpochRecord[] = [];
  if (opts.train) {
    const codebooks = clustered.layers.map((l) => l.codebook);
    const others = (opts.trainOthers ?? true) ? defaultOthers(model, new Set(codebooks)) : [];
    const r = await train({
      openRunner: opts.openRunner,
      model,
      train: opts.train,
      epochs: opts.epochs ?? 1,
      batchSize: opts.batchSize ?? 64,
      seed: opts.trainSeed ?? 0,
      optimizer: opts.optimizer ?? { name: 'adam', lr: 1e-4 },
      trainable: [...codebooks, ...others],
      masks: clustered.masks,
      restoreBest: false,
      ...(opts.loss ? { loss: opts.loss } : {}),
      ...(opts.batchFeeds ? { batchFeeds: opts.batchFeeds } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...where,
    });
    model = r.model;
    history = r.history;
  }
  const finetunedAcc = labelled && opts.train ? await evaluateModel(opts.openRunner, model, opts.test!, where) : undefined;
  return {
    model,
    layers: clustered.layers,
    masks: clustered.masks,
    history,
    clusteredModel: clustered.model,
    ...(inputAcc && clusteredAcc
      ? { accuracy: { input: inputAcc, clustered: clusteredAcc, ...(finetunedAcc ? { finetuned: finetunedAcc } : {}) } }
      : {}),
  };
}

/** Float initializers other than the codebooks that train by default: biases and normalization scales/shifts (rank 1, not running statistics). */
function defaultOthers(model: ModelProto, codebooks: Set<string>): string[] {
  const graph = model.graph!;
  const stats = new Set<string>();
  for (const n of graph.node) if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.input[i]) stats.add(n.input[i]!);
  return graph.initializer
    .filter(
      (t) =>
        t.dataType === ONNX_TYPE.float32 &&
        t.dims.length >= 1 &&
        Number(t.dims.reduce((a, d) => a * d, 1n)) > 1 &&
        !codebooks.has(t.name) &&
        !stats.has(t.name),
    )
    .map((t) => t.name);
}

/** The dense weights of a Gather-form layer: codebook[indices]. */
export function denseClusteredWeights(model: ModelProto, layer: Pick<ClusteredLayer, 'codebook' | 'indices'>): Float32Array {
  const book = getInitializerValues(model, [layer.codebook]).get(layer.codebook)!;
  const idx = model.graph!.initializer.find((t) => t.name === layer.indices);
  if (!idx) throw new ModelpressError('E_NOT_FOUND', `indices initializer '${layer.indices}' not found`);
  const raw = idx.rawData;
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = book[raw[i]!]!;
  return out;
}
