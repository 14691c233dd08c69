/**
 * Feed sources: where the inputs of each run come from. A dataset source
 * batches samples into the data input (other inputs constant); a random
 * source makes one seeded set of inputs per run.
 */
import type { DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { IoInfo } from '../runtime/runner.js';
import { sampleCount, sampleShape, type Dataset } from '../data/dataset.js';
import { createBatcher, fitSamples, type InputFit, type PreprocessOptions } from './fit.js';
import { constantTensor, randomTensor, resolveInputShape, type ShapeBindings, type StatePair } from './inputs.js';
import { deriveSeed } from '../core/random.js';

export interface FeedSource {
  /** 'fashion-mnist:test', 'random', 'data.npz' ... */
  readonly name: string;
  /** Samples (dataset) or runs (random). */
  readonly count: number;
  /** One class label per sample, when the data has labels. */
  readonly labels: Int32Array | undefined;
  /** Most samples one run may take: 1 for random sources and for models with a fixed batch of 1. */
  readonly maxBatch: number;
  /** Feeds for samples [start, end). */
  feeds(start: number, end: number): Record<string, Tensor>;
  /** The inputs as fed for one sample, for reports. */
  readonly inputs: readonly { name: string; dtype: DType; shape: number[] }[];
}

export interface SourceOptions extends ShapeBindings {
  /** Constant values for inputs by name (`--fill sr=16000`); state inputs default to 0. */
  fill?: Readonly<Record<string, number>>;
  /** State inputs start at zero (later runs feed back the paired outputs). */
  state?: readonly StatePair[];
}

/** Feeds from a dataset: the data goes into `dataInput` (default: the first input). */
export function datasetSource(
  ds: Dataset,
  inputs: readonly IoInfo[],
  options: SourceOptions & { dataInput?: string; preprocess?: PreprocessOptions } = {},
): FeedSource {
  const target = options.dataInput ? inputs.find((i) => i.name === options.dataInput) : inputs[0];
  if (!target)
    throw new ModelpressError('E_ARG', `model has no input named '${options.dataInput}'; inputs: ${inputs.map((i) => i.name).join(', ')}`);
  const fit: InputFit = fitSamples(sampleShape(ds), target, options.preprocess, options.dims);
  const others = inputs.filter((i) => i !== target);
  const otherFor = (batch: number): Record<string, Tensor> => {
    const dims = { ...options.dims, ...fit.bindings, ...(fit.batchSymbol ? { [fit.batchSymbol]: batch } : {}) };
    const out: Record<string, Tensor> = {};
    for (const input of others) {
      if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
      out[input.name] = constantTensor(
        input.dtype,
        resolveInputShape(input, { dims, shapes: options.shapes }),
        options.fill?.[input.name] ?? 0,
      );
    }
    return out;
  };
  const cache = new Map<number, Record<string, Tensor>>();
  const batch = createBatcher(ds.x, fit, options.preprocess);
  return {
    name: ds.name,
    count: sampleCount(ds),
    labels: ds.y,
    maxBatch: fit.fixedBatch ?? Infinity,
    feeds(start, end) {
      const size = end - start;
      let rest = cache.get(size);
      if (!rest) cache.set(size, (rest = otherFor(size)));
      const feeds: Record<string, Tensor> = { ...rest };
      feeds[target.name] = batch(start, end);
      return feeds;
    },
    inputs: [{ name: target.name, dtype: fit.dtype, shape: fit.batched ? [1, ...fit.sampleShape] : [...fit.sampleShape] }],
  };
}

/** Elements one random input may hold (2^28: 1 GiB of float32); a model declaring more gets E_LIMIT, not an allocation failure. */
export const MAX_RANDOM_INPUT_ELEMENTS = 2 ** 28;

/** Seeded random inputs for every input, one set per run; `runs` sets count. */
export function randomSource(inputs: readonly IoInfo[], runs: number, options: SourceOptions & { seed?: number } = {}): FeedSource {
  const seed = options.seed ?? 0;
  const stateInputs = new Set((options.state ?? []).map((p) => p.input));
  const resolved = inputs.map((input) => {
    if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
    const shape = resolveInputShape(input, options);
    const elements = shape.reduce((a, d) => a * d, 1);
    if (!(elements <= MAX_RANDOM_INPUT_ELEMENTS))
      throw new ModelpressError(
        'E_LIMIT',
        `random input '${input.name}' of shape [${shape.join(', ')}] would hold ${elements} elements, over the ${MAX_RANDOM_INPUT_ELEMENTS} a random input may have; give real data (--data) or smaller dims (--dim)`,
      );
    return { name: input.name, dtype: input.dtype, shape };
  });
  return {
    name: 'random',
    count: runs,
    labels: undefined,
    maxBatch: 1,
    feeds(start) {
      const out: Record<string, Tensor> = {};
      resolved.forEach((r, k) => {
        const fill = options.fill?.[r.name] ?? (stateInputs.has(r.name) ? 0 : undefined);
        out[r.name] =
          fill !== undefined
            ? constantTensor(r.dtype, r.shape, fill)
            : randomTensor(r.dtype, r.shape, deriveSeed(seed, start * resolved.length + k));
      });
      return out;
    },
    inputs: resolved,
  };
}
