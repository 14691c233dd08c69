/**
 * The one `--data` loader of the commands that train or evaluate a
 * model on data (train, finetune, prune, cluster, qat, distill, sensitivity,
 * compress): a named dataset (`fashion-mnist`, `mnist`: official train and
 * test splits, from --data-dir or the system copy), a .npz/.npy file (inputs
 * by name, optional `labels`/`y` and `targets`), or a folder of PNG/JPEG
 * images (node/images.ts), files and folders split by a seeded permutation
 * (80% train, 20% test; --test-fraction). uint8 samples are scaled to
 * [0, 1]; grey images get a channel dim. Then --limit, the validation
 * hold-out (--val-size, or --val-split as a fraction) and --test-limit.
 * The spec language itself is node/datasets.ts's `loadDataSpec`.
 */
import { ModelpressError } from '../core/errors.js';
import { createRng } from '../core/random.js';
import { bindInputs, checkDtype } from '../data/bind.js';
import { checkDataset, sampleCount, splitHoldout, unitScaled, type Dataset } from '../data/dataset.js';
import { loadDataSpec, parseDataSpec } from '../node/datasets.js';
import { isDirectory } from '../node/images.js';
import type { ModelProto } from 'onnx-buf';
import { dtypeFromOnnx } from '../core/dtypes.js';
import { readValueInfo } from '../graph/value-info.js';
import type { IoInfo } from '../runtime/runner.js';
import { dataInputs } from '../train/trainer/model-io.js';

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
   * from the original model); its validation hold-out (a tenth of the
   * examples unless --val-split says otherwise, at most `valSize`) then ranks
   * epochs by output SNR against the original. Default 'required'.
   */
  labels?: 'required' | 'optional';
  /** --val-split: the validation hold-out as a fraction of the training examples; wins over `valSize`. */
  valSplit?: number | undefined;
  /** Test share of a file or folder without an official split (default 0.2). */
  testFraction?: number | undefined;
  /** The model's data inputs, when the caller knows them: arrays are checked against them, image folders sized by them. */
  inputs?: readonly IoInfo[] | undefined;
  /** The input the data goes to; default the first. */
  dataInput?: string | undefined;
  /** --preprocess: an image folder's preprocessing JSON. */
  preprocessFile?: string | undefined;
  /**
   * The caller feeds a .npz's further named inputs itself (`Dataset.inputs`);
   * without it, data with more than one input array is an E_UNSUPPORTED (the
   * trainer feeds one input).
   */
  multiInput?: boolean | undefined;
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
  if (!named && !/\.(npz|npy)$/i.test(spec.source) && !isDirectory(spec.source)) {
    throw new ModelpressError(
      'E_ARG',
      `--data: unknown dataset '${opts.data}' (expected ${DATASETS.join(', ')}, a .npz/.npy file or a folder of PNG/JPEG images)`,
    );
  }
  const loadOptions = {
    seed: opts.seed,
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    ...(opts.testFraction === undefined ? {} : { testFraction: opts.testFraction }),
    ...(opts.inputs === undefined ? {} : { inputs: opts.inputs }),
    ...(opts.dataInput === undefined ? {} : { dataInput: opts.dataInput }),
    ...(opts.preprocessFile === undefined ? {} : { preprocessFile: opts.preprocessFile }),
  };
  const required = opts.labels !== 'optional';
  const load = async (split: 'train' | 'test', limit: number | undefined) =>
    trainingInput(
      await loadDataSpec(`${spec.source}:${split}`, { ...loadOptions, ...(limit === undefined ? {} : { limit }) }),
      named,
      required,
      opts,
    );
  const all = await load('train', opts.limit);
  const test = await load('test', opts.testLimit);
  const count = sampleCount(all);
  // Without labels the hold-out ranks epochs by output SNR against the original (label-free distillation gives
  // it the original's outputs): --val-split as asked, else a tenth of the examples, at most --val-size.
  const valSize =
    opts.valSplit !== undefined
      ? Math.round(count * opts.valSplit)
      : all.y === undefined
        ? Math.min(opts.valSize, Math.floor(count / 10))
        : opts.valSize;
  if (valSize === 0) return { train: all, validation: undefined, test };
  if (valSize >= count) {
    const flag = opts.valSplit === undefined ? `--val-size ${opts.valSize}` : `--val-split ${opts.valSplit}`;
    throw new ModelpressError('E_ARG', `${flag} leaves no training data (${count} examples)`);
  }
  const split = splitHoldout(all, valSize, createRng(opts.seed ^ 0x6a09e667));
  return { train: split.train, validation: split.holdout, test };
}

/**
 * Examples (labelled unless optional) as trainer input: uint8 scaled by 1/255, other numbers as float32; grey images
 * get a channel dim. With the model's inputs known, the arrays are bound to them first (names, dtypes).
 */
function trainingInput(ds: Dataset, greyImages: boolean, labels: boolean, opts: DataLoadOptions): Dataset {
  checkDataset(ds, ds.file ?? ds.name, { labels });
  if (ds.inputs !== undefined && !opts.multiInput) {
    const names = [ds.xName ?? 'x', ...Object.keys(ds.inputs)].map((n) => `'${n}'`).join(', ');
    throw new ModelpressError('E_UNSUPPORTED', `holds ${names}: this command trains models with one data input; give one input array`, {
      file: ds.file ?? ds.name,
    });
  }
  if (opts.inputs !== undefined) {
    for (const b of bindInputs(ds, opts.inputs, opts.dataInput)) {
      // The trainer feeds float32; the file's dtype must be one a float input takes (any number) or the input's own.
      if (b.input.dtype) checkDtype(b.tensor.dtype, b.input.dtype, { array: b.array, input: b.input.name, file: ds.file });
    }
  }
  return unitScaled(ds, { channelDim: greyImages });
}

/**
 * The data inputs of a model as `DataLoadOptions.inputs` wants them (names,
 * dtypes, shapes; an unnamed dim becomes '?'), so a command that has read the
 * model can pass `inputs: modelInputs(model)` and get image folders sized and
 * .npz arrays checked against it.
 */
export function modelInputs(model: ModelProto): IoInfo[] {
  return dataInputs(model).map((vi) => {
    const info = readValueInfo(vi);
    return {
      name: vi.name,
      dtype: info ? dtypeFromOnnx(info.elemType) : undefined,
      shape: info?.shape?.map((d) => d ?? '?'),
    };
  });
}
