/**
 * The Deep Compression pipeline (Han et al., 2016) on our parts: prune with
 * the masks held through fine-tuning, share weights by per-layer k-means
 * with centroid fine-tuning, then entropy-code what is left into an .mpz
 * container (sparse layouts, codebooks, Huffman / arithmetic coding). Each
 * stage is measured on the test set, and the container is decoded again and
 * run, so the figure printed is the figure a user gets.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { packModel, type PackReport } from '../codec/container/index.js';
import { unpackModel } from '../codec/container/reader.js';
import { readOnnx, writeOnnx } from '../formats/onnx/index.js';
import { listOnnxTensors } from '../formats/onnx/list.js';
import { clusterModel } from '../compress/cluster.js';
import { pruneAndFinetune } from '../prune/finetune.js';
import type { ScheduleName } from '../prune/schedule.js';
import { evaluateModel, type TrainProgress } from '../train/trainer.js';
import type { Dataset } from '../data/dataset.js';
import type { RunnerFactory } from '../runtime/runner.js';

export interface DeepCompressionOptions {
  /** onnxruntime-node or -web. */
  readonly openRunner: RunnerFactory;
  /** The trained float32 model. */
  readonly model: ModelProto;
  readonly train: Dataset;
  readonly validation?: Dataset | undefined;
  readonly test: Dataset;
  /** Fraction of Conv/Gemm/MatMul weights set to zero, by one global magnitude threshold (default 0.92, Deep Compression's LeNet-300-100 figure). */
  readonly sparsity?: number;
  /** Fine-tuning epochs while pruning (default 10). */
  readonly pruneEpochs?: number;
  /** How sparsity reaches its target over those epochs (default 'polynomial', TF-MOT's gradual schedule). */
  readonly pruneSchedule?: ScheduleName;
  /** Adam learning rate while pruning (default 1e-3; a decaying rate measured worse: late mask changes cannot recover). */
  readonly pruneLr?: number;
  /** Index bits of fully connected and convolution layers (defaults 5 and 8, as in Deep Compression). */
  readonly bitsFc?: number;
  readonly bitsConv?: number;
  /** Centroid fine-tuning epochs (default 2). */
  readonly clusterEpochs?: number;
  /** Seed of shuffling (default 0). */
  readonly seed?: number;
  readonly onStage?: (stage: string) => void;
  readonly onProgress?: (e: TrainProgress) => void;
  readonly file?: string;
}

export interface StageReport {
  readonly stage: 'baseline' | 'pruned' | 'clustered' | 'packed';
  /** Test accuracy in [0, 1]. */
  readonly accuracy: number;
  /** Bytes of the stage's model file (.onnx, or .mpz for 'packed'). */
  readonly bytes: number;
  /** Weight parameters that are not exactly zero. */
  readonly nonzero: number;
  readonly params: number;
}

export interface DeepCompressionResult {
  readonly stages: readonly StageReport[];
  /** The clustered model (the Gather form onnxruntime runs). */
  readonly model: ModelProto;
  /** The container bytes. */
  readonly mpz: Uint8Array;
  readonly pack: PackReport;
  /** Baseline file bytes / container bytes. */
  readonly ratio: number;
}

/** Parameter and non-zero counts of the float weights the model computes with (codebooks expanded through their indices). */
function countWeights(model: ModelProto): { params: number; nonzero: number } {
  let params = 0;
  let nonzero = 0;
  for (const t of listOnnxTensors(model)) {
    if (t.tensor.dtype !== 'float32') continue;
    const v = new Float32Array(t.tensor.data.slice().buffer);
    if (v.length < 16) continue; // scalars and codebooks are not weights
    params += v.length;
    for (const x of v) if (x !== 0) nonzero++;
  }
  return { params, nonzero };
}

export async function deepCompression(o: DeepCompressionOptions): Promise<DeepCompressionResult> {
  const sparsity = o.sparsity ?? 0.92;
  if (!(sparsity >= 0 && sparsity < 1)) throw new ModelpressError('E_ARG', `sparsity must be in [0, 1), got ${sparsity}`);
  const where = o.file === undefined ? {} : { file: o.file };
  const stages: StageReport[] = [];
  const measure = async (stage: StageReport['stage'], model: ModelProto, bytes: number, counts = countWeights(model)) => {
    const acc = await evaluateModel(o.openRunner, model, o.test, where);
    stages.push({ stage, accuracy: acc.accuracy, bytes, ...counts });
  };
  const baselineBytes = writeOnnx(o.model).byteLength;
  o.onStage?.('baseline');
  await measure('baseline', o.model, baselineBytes);

  o.onStage?.(
    `prune to ${(sparsity * 100).toFixed(0)}% (global magnitude, ${o.pruneSchedule ?? 'polynomial'} schedule) with ${o.pruneEpochs ?? 10} epochs of fine-tuning`,
  );
  const pruned = await pruneAndFinetune({
    openRunner: o.openRunner,
    model: o.model,
    // one threshold over all layers: the small last layer keeps more of its weights than a per-layer cut allows
    method: { kind: 'global', sparsity },
    schedule: o.pruneSchedule ?? 'polynomial',
    train: o.train,
    ...(o.validation ? { validation: o.validation } : {}),
    epochs: o.pruneEpochs ?? 10,
    seed: o.seed ?? 0,
    optimizer: { name: 'adam', lr: o.pruneLr ?? 1e-3 },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...where,
  });
  const prunedCounts = countWeights(pruned.model);
  await measure('pruned', pruned.model, writeOnnx(pruned.model).byteLength, prunedCounts);

  o.onStage?.(`cluster: ${o.bitsFc ?? 5}-bit fc, ${o.bitsConv ?? 8}-bit conv, ${o.clusterEpochs ?? 2} epochs of centroid fine-tuning`);
  const clustered = await clusterModel(pruned.model, {
    openRunner: o.openRunner,
    bits: o.bitsFc ?? 5,
    bitsFc: o.bitsFc ?? 5,
    bitsConv: o.bitsConv ?? 8,
    init: 'linear',
    train: o.train,
    epochs: o.clusterEpochs ?? 2,
    trainSeed: o.seed ?? 0,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...where,
  });
  const clusteredBytes = writeOnnx(clustered.model);
  // pruned zeros stay zero through clustering (they sit on a fixed zero centroid)
  await measure('clustered', clustered.model, clusteredBytes.byteLength, prunedCounts);

  o.onStage?.('entropy-code into .mpz');
  const packed = packModel({ format: 'onnx', files: [{ name: 'model.onnx', bytes: clusteredBytes }] }, where);
  // what a user gets: decode the container and run that
  const restored = unpackModel(packed.bytes, where);
  const restoredModel = readOnnx(restored.files[0]!.bytes, where).proto;
  await measure('packed', restoredModel, packed.bytes.byteLength, prunedCounts);
  return { stages, model: clustered.model, mpz: packed.bytes, pack: packed.report, ratio: baselineBytes / packed.bytes.byteLength };
}
