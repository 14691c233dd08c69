/**
 * The one `--data` loader of the commands that train or evaluate a
 * classifier (train, finetune, prune, cluster, qat, distill, sensitivity,
 * compress): a named dataset (`fashion-mnist`, `mnist`: official train and
 * test splits, from --data-dir or the system copy) or a .npz file with
 * arrays `x` (samples on axis 0) and `y` (labels), split by a seeded
 * permutation (80% train, 20% test). uint8 samples are scaled to [0, 1];
 * grey images get a channel dim. Then --limit, the validation hold-out and
 * --test-limit.
 */
import { ModelpressError } from '../core/errors.js';
import { toFloat32 } from '../core/tensor.js';
import type { ArrayDataset } from '../eval/datasets/dataset.js';
import { loadDataSpec, parseDataSpec } from '../node/datasets.js';
import { createRng } from '../core/random.js';
import { head, splitHoldout, type ClassificationData } from '../train/trainer/data.js';

/** Datasets `--data` names. */
export const DATASETS = ['fashion-mnist', 'mnist'] as const;

export interface DataLoadOptions {
  /** `--data`: a dataset name or a .npz file. */
  data: string;
  dataDir?: string;
  /** Seed of the .npz train/test split and of the validation hold-out. */
  seed: number;
  /** Training examples held out for validation (0: none). */
  valSize: number;
  /** Use only the first n training examples (before the hold-out). */
  limit?: number;
  /** Use only the first n test examples. */
  testLimit?: number;
}

export interface PreparedData {
  train: ClassificationData;
  validation: ClassificationData | undefined;
  test: ClassificationData;
}

/** Loads `--data` as train / validation / test; see the file comment. */
export async function loadTrainingData(opts: DataLoadOptions): Promise<PreparedData> {
  const spec = parseDataSpec(opts.data);
  if (spec.split !== undefined) throw new ModelpressError('E_ARG', `--data ${opts.data}: give the dataset without a split; train and test are taken from it`);
  const named = DATASETS.includes(spec.source.toLowerCase() as (typeof DATASETS)[number]);
  if (!named && !spec.source.toLowerCase().endsWith('.npz')) {
    throw new ModelpressError('E_ARG', `--data: unknown dataset '${opts.data}' (expected ${DATASETS.join(', ')} or a .npz file with arrays x and y)`);
  }
  const loadOptions = { seed: opts.seed, ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }) };
  const trainSplit = classificationData(await loadDataSpec(`${spec.source}:train`, loadOptions), named);
  const testSplit = classificationData(await loadDataSpec(`${spec.source}:test`, loadOptions), named);
  const test = opts.testLimit === undefined ? testSplit : head(testSplit, opts.testLimit);
  const all = opts.limit !== undefined ? head(trainSplit, opts.limit) : trainSplit;
  if (opts.valSize === 0) return { train: all, validation: undefined, test };
  if (opts.valSize >= all.count) throw new ModelpressError('E_ARG', `--val-size ${opts.valSize} leaves no training data (${all.count} examples)`);
  const split = splitHoldout(all, opts.valSize, createRng(opts.seed ^ 0x6a09e667));
  return { train: split.train, validation: split.holdout, test };
}

/** An ArrayDataset with labels as trainer data: uint8 scaled by 1/255, other numbers as float32; grey images get a channel dim. */
function classificationData(ds: ArrayDataset, greyImages: boolean): ClassificationData {
  if (!ds.y) throw new ModelpressError('E_ARG', `${ds.name}: the data has no labels (array 'y'); training needs them`);
  const shape = ds.x.shape;
  const count = shape[0] ?? 0;
  const inputs = toFloat32(ds.x);
  if (ds.x.dtype === 'uint8') for (let i = 0; i < inputs.length; i++) inputs[i] = inputs[i]! / 255;
  for (let i = 0; i < count; i++) {
    if (ds.y[i]! < 0) throw new ModelpressError('E_ARG', `${ds.name}: label ${ds.y[i]} of sample ${i} is negative`);
  }
  return { inputs, labels: ds.y, count, sampleShape: greyImages && shape.length === 3 ? [1, ...shape.slice(1)] : shape.slice(1) };
}
