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
import { createRng } from '../core/random.js';
import { checkDataset, limitSamples, sampleCount, splitHoldout, unitScaled, type Dataset } from '../data/dataset.js';
import { loadDataSpec, parseDataSpec } from '../node/datasets.js';

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
  /**
   * 'optional': a .npz without `y` loads as inputs alone (the caller distils
   * from the original model); no validation hold-out is taken then, since
   * picking the best epoch needs labels. Default 'required'.
   */
  labels?: 'required' | 'optional';
}

export interface PreparedData {
  train: Dataset;
  validation: Dataset | undefined;
  test: Dataset;
}

/** Loads `--data` as train / validation / test; see the file comment. */
export async function loadTrainingData(opts: DataLoadOptions): Promise<PreparedData> {
  const spec = parseDataSpec(opts.data);
  if (spec.split !== undefined)
    throw new ModelpressError('E_ARG', `--data ${opts.data}: give the dataset without a split; train and test are taken from it`);
  const named = DATASETS.includes(spec.source.toLowerCase() as (typeof DATASETS)[number]);
  if (!named && !spec.source.toLowerCase().endsWith('.npz')) {
    throw new ModelpressError(
      'E_ARG',
      `--data: unknown dataset '${opts.data}' (expected ${DATASETS.join(', ')} or a .npz file with arrays x and y)`,
    );
  }
  const loadOptions = { seed: opts.seed, ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }) };
  const required = opts.labels !== 'optional';
  const trainSplit = trainingInput(await loadDataSpec(`${spec.source}:train`, loadOptions), named, required);
  const testSplit = trainingInput(await loadDataSpec(`${spec.source}:test`, loadOptions), named, required);
  const test = opts.testLimit === undefined ? testSplit : limitSamples(testSplit, opts.testLimit);
  const all = opts.limit !== undefined ? limitSamples(trainSplit, opts.limit) : trainSplit;
  if (opts.valSize === 0 || all.y === undefined) return { train: all, validation: undefined, test };
  const count = sampleCount(all);
  if (opts.valSize >= count) throw new ModelpressError('E_ARG', `--val-size ${opts.valSize} leaves no training data (${count} examples)`);
  const split = splitHoldout(all, opts.valSize, createRng(opts.seed ^ 0x6a09e667));
  return { train: split.train, validation: split.holdout, test };
}

/** Examples (labelled unless optional) as trainer input: uint8 scaled by 1/255, other numbers as float32; grey images get a channel dim. */
function trainingInput(ds: Dataset, greyImages: boolean, labels: boolean): Dataset {
  checkDataset(ds, ds.name, { labels });
  return unitScaled(ds, { channelDim: greyImages });
}
