/**
 * Feed sources: where the inputs of each run come from. A dataset source
 * batches samples into the data input (other inputs constant); a random
 * source makes one seeded set of inputs per run.
 */
import type { DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { IoInfo } from '../runtime/runner.js';
import { bindInputs, checkDtype, convertExact } from '../data/bind.js';
import { sampleCount, type Dataset } from '../data/dataset.js';
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
  /** Things the caller should tell the user (stderr), e.g. a symbolic dim set to 1. */
  readonly notes?: readonly string[];
}

export interface SourceOptions extends ShapeBindings {
  /** Constant values for inputs by name (`--fill sr=16000`); state inputs default to 0. */
  fill?: Readonly<Record<string, number>>;
  /** State inputs start at zero (later runs feed back the paired outputs). */
  state?: readonly StatePair[];
}

/** The eval flags of the preprocessing options, for messages. */
const FLAG_OF: Record<string, string> = {
  scale: '--scale',
  mean: '--mean',
  std: '--std',
  dataLayout: '--data-layout',
  modelLayout: '--layout',
};

/**
 * Feeds from a dataset. Its arrays go to model inputs by the binding rule of
 * data/bind.ts (by name; a single array into `dataInput`, default the first
 * input); dtypes are checked and converted there. `preprocess` (scale,
 * mean/std, layout) applies to the array of the data input only, and not at
 * all to an image folder's examples, which arrive preprocessed. Inputs no
 * array feeds get --fill values or zeros (state inputs start at zero), their
 * unbound symbolic dims set to 1 with a note in `notes`.
 */
export function datasetSource(
  ds: Dataset,
  inputs: readonly IoInfo[],
  options: SourceOptions & { dataInput?: string; preprocess?: PreprocessOptions } = {},
): FeedSource {
  const file = ds.file ?? ds.name;
  const bindings = bindInputs(ds, inputs, options.dataInput);
  const primary =
    bindings.find((b) => b.input.name === options.dataInput) ??
    bindings.find((b) => b.array === 'x' && ds.xName === undefined) ??
    bindings[0]!;
  const given = Object.entries(options.preprocess ?? {}).filter(([, v]) => v !== undefined);
  if (ds.preprocessed && given.length > 0)
    throw new ModelpressError(
      'E_ARG',
      `${given.map(([k]) => FLAG_OF[k] ?? k).join(', ')} given for an image folder, whose preprocessing comes from its JSON (--preprocess or preprocess.json: scale, mean, std, layout)`,
      { file },
    );
  const pre: PreprocessOptions = ds.preprocessed ? { scale: 1 } : (options.preprocess ?? {});
  const fed = bindings.map((b) => {
    const input = b.input;
    if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
    const what = { array: b.array, input: input.name, file };
    checkDtype(b.tensor.dtype, input.dtype, what);
    const isPrimary = b === primary;
    // Integer data for an integer input converts exactly, once; floats convert per batch.
    const exact = b.tensor.dtype !== input.dtype && !input.dtype.startsWith('float') && input.dtype !== 'bfloat16';
    const tensor = exact ? convertExact(b.tensor, input.dtype, what) : b.tensor;
    let fit: InputFit;
    try {
      fit = fitSamples(tensor.shape.slice(1), input, isPrimary ? pre : {}, options.dims);
    } catch (e) {
      if (e instanceof ModelpressError) throw new ModelpressError(e.code, `array '${b.array}': ${e.message}`, { file, cause: e });
      throw e;
    }
    return { name: input.name, fit, batch: createBatcher(tensor, fit, isPrimary ? pre : { scale: 1 }) };
  });
  const fedNames = new Set(fed.map((f) => f.name));
  const others = inputs.filter((i) => !fedNames.has(i.name));
  const bound: Record<string, number> = {};
  for (const f of fed) Object.assign(bound, f.fit.bindings);
  const batchSymbols = fed.flatMap((f) => (f.fit.batchSymbol ? [f.fit.batchSymbol] : []));
  const notes: string[] = [];
  const noted = new Set<string>();
  const otherFor = (batch: number): Record<string, Tensor> => {
    const dims: Record<string, number> = { ...options.dims, ...bound };
    for (const s of batchSymbols) dims[s] = batch;
    const out: Record<string, Tensor> = {};
    for (const input of others) {
      if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
      const shape = resolveInputShape(input, {
        dims,
        ...(options.shapes ? { shapes: options.shapes } : {}),
        defaultDim: 1,
        onDefault: (dim) => {
          if (noted.has(dim)) return;
          noted.add(dim);
          notes.push(`note: symbolic dim '${dim}' of input '${input.name}' set to 1 (give --dim ${dim}=<n> to change it)`);
        },
      });
      out[input.name] = constantTensor(input.dtype, shape, options.fill?.[input.name] ?? 0);
    }
    return out;
  };
  const cache = new Map<number, Record<string, Tensor>>();
  const fixed = fed.flatMap((f) => (f.fit.fixedBatch === undefined ? [] : [f.fit.fixedBatch]));
  const maxBatch = fixed.length ? Math.min(...fixed) : Infinity;
  // Resolve the constant inputs once up front, so their notes exist before the first run.
  if (others.length) cache.set(1, otherFor(1));
  return {
    name: ds.name,
    count: sampleCount(ds),
    labels: ds.y,
    maxBatch,
    notes,
    feeds(start, end) {
      const size = end - start;
      let rest = cache.get(size);
      if (!rest) cache.set(size, (rest = otherFor(size)));
      const feeds: Record<string, Tensor> = { ...rest };
      for (const f of fed) feeds[f.name] = f.batch(start, end);
      return feeds;
    },
    inputs: fed.map((f) => ({
      name: f.name,
      dtype: f.fit.dtype,
      shape: f.fit.batched ? [1, ...f.fit.sampleShape] : [...f.fit.sampleShape],
    })),
  };
}

/** Elements one random input may hold (2^28: 1 GiB of float32); a model declaring more gets E_LIMIT, not an allocation failure. */
export const MAX_RANDOM_INPUT_ELEMENTS = 2 ** 28;

/** Seeded random inputs for every input, one set per run; `runs` sets count. */
export function randomSource(inputs: readonly IoInfo[], runs: number, options: SourceOptions & { seed?: number } = {}): FeedSource {
  const seed = options.seed ?? 0;
  const stateInputs = new Set((options.state ?? []).map((p) => p.input));
  const notes: string[] = [];
  const noted = new Set<string>();
  const resolved = inputs.map((input) => {
    if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
    const shape = resolveInputShape(input, {
      ...options,
      defaultDim: 1,
      onDefault: (dim) => {
        if (noted.has(dim)) return;
        noted.add(dim);
        notes.push(`note: symbolic dim '${dim}' of input '${input.name}' set to 1 for random inputs (give --dim ${dim}=<n> to change it)`);
      },
    });
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
    notes,
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
