/**
 * Node-side dataset loading: finds Fashion-MNIST / MNIST IDX files on disk
 * (gzipped or not) and hands the bytes to the browser-safe parsers.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { ModelpressError } from '../core/errors.js';
import { typedView, type Tensor } from '../core/tensor.js';
import { byteWindows } from '../data/tokens.js';
import { checkDataset, limitSamples, sampleCount, selectSamples, type Dataset } from '../data/dataset.js';
import type { IoInfo } from '../runtime/runner.js';
import { datasetFromArrays, datasetFromImages } from '../eval/datasets/dataset.js';
import { imageDatasetFromIdx, isGzip, type ImageDataset } from '../eval/datasets/idx.js';
import { parseNpy } from '../eval/datasets/npy.js';
import { parseNpz } from '../eval/datasets/npz.js';
import { DEFAULT_MAX_DATA_BYTES, DEFLATE_MAX_RATIO, OutputLimitError } from '../eval/datasets/zip.js';
import { calibrationIndices, splitIndices, type SplitName } from '../eval/splits.js';
import { isDirectory, loadImageFolder } from './images.js';
import { readInputFile } from './open.js';

export type DatasetSplit = 'train' | 'test';

export interface LoadImageDatasetOptions {
  /** Which of the two official splits: 'train' (60k) or 'test' (10k). Default 'test'. */
  split?: DatasetSplit;
  /** Folder holding the four IDX files (gzipped or not); searched before the system copy. */
  dataDir?: string;
}

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const MNIST_SYSTEM_DIR = '/usr/share/datasets/mnist';

/**
 * Where `npm run setup` downloads a dataset when the Debian package cannot be
 * installed: $XDG_CACHE_HOME/modelpress/<name> (default ~/.cache/modelpress/<name>).
 * Searched after the system folder.
 */
export function userDatasetDir(name: string): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'modelpress', name);
}

/** The upstream IDX file names of a split, without `.gz`. */
export function idxFileNames(split: DatasetSplit): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

/** Loads a Fashion-MNIST split from `dataDir` or /usr/share/datasets/fashion-mnist. */
export function loadFashionMnist(options: LoadImageDatasetOptions = {}): ImageDataset {
  return loadIdxImageDataset(
    'Fashion-MNIST',
    [FASHION_MNIST_SYSTEM_DIR, userDatasetDir('fashion-mnist')],
    options,
    `apt-get install dataset-fashion-mnist (in a modelpress checkout, npm run setup does that or downloads the files with checksums into ${userDatasetDir('fashion-mnist')}), or download the four files from https://github.com/zalandoresearch/fashion-mnist`,
  );
}

/** Loads an MNIST split from `dataDir` or /usr/share/datasets/mnist. */
export function loadMnist(options: LoadImageDatasetOptions = {}): ImageDataset {
  return loadIdxImageDataset(
    'MNIST',
    [MNIST_SYSTEM_DIR],
    options,
    'download the four files from https://yann.lecun.com/exdb/mnist/ (or a mirror)',
  );
}

function loadIdxImageDataset(title: string, systemDirs: string[], options: LoadImageDatasetOptions, howToGet: string): ImageDataset {
  const split = options.split ?? 'test';
  const names = idxFileNames(split);
  const dirs = options.dataDir !== undefined ? [options.dataDir] : systemDirs;
  const searched: string[] = [];
  for (const dir of dirs) {
    const images = findFile(dir, names.images, searched);
    const labels = findFile(dir, names.labels, searched);
    if (images && labels) {
      return imageDatasetFromIdx(readMaybeGzip(images), readMaybeGzip(labels), { images, labels });
    }
  }
  throw new ModelpressError(
    'E_NOT_FOUND',
    `${title} ${split} split not found; searched ${searched.join(', ')}. To get it: ${howToGet} (files ${names.images}.gz and ${names.labels}.gz, gzipped or not), then pass --data-dir <folder>`,
  );
}

function findFile(dir: string, name: string, searched: string[]): string | undefined {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) {
    searched.push(candidate);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Reads a file (a regular file only), gunzipping it when it starts with the gzip
 * magic. The gzip trailer's size (ISIZE, the size mod 2^32) bounds the output: a
 * member that inflates past it, or one declaring more than `maxBytes` (default
 * 2 GiB) or more than deflate's 1032:1 best ratio allows, is refused before it fills memory.
 */
export function readMaybeGzip(path: string, maxBytes = DEFAULT_MAX_DATA_BYTES): Uint8Array {
  const bytes = readInputFile(path);
  if (!isGzip(bytes)) return bytes;
  if (bytes.length < 18) throw new ModelpressError('E_TRUNCATED', `gzip file of ${bytes.length} bytes has no trailer`, { file: path });
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  if (declared > maxBytes)
    throw new ModelpressError('E_CORRUPT', `gzip data declares ${declared} bytes, over the ${maxBytes}-byte limit`, { file: path });
  if (declared > bytes.length * DEFLATE_MAX_RATIO + 64)
    throw new ModelpressError(
      'E_CORRUPT',
      `gzip data declares ${declared} bytes from ${bytes.length}, beyond deflate's ${DEFLATE_MAX_RATIO}:1 limit`,
      {
        file: path,
      },
    );
  let out: Uint8Array;
  try {
    out = gunzipSync(bytes, { maxOutputLength: Math.max(1, declared) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ModelpressError('E_CORRUPT', `gzip data inflates to more than the ${declared} bytes its trailer declares`, {
        file: path,
        cause: e,
      });
    throw new ModelpressError('E_CORRUPT', `gzip data is damaged: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (out.length !== declared)
    throw new ModelpressError('E_CORRUPT', `gzip data inflates to ${out.length} bytes, its trailer declares ${declared}`, { file: path });
  return out;
}

/** node:zlib's raw inflate, stopping at `maxOutput` bytes (the zip directory's size). */
function inflateRawLimited(data: Uint8Array, maxOutput: number): Uint8Array {
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(1, maxOutput) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new OutputLimitError(maxOutput);
    throw e;
  }
}

/** Options for resolving a `--data` spec. */
export interface DataSpecOptions {
  /** Folder holding Fashion-MNIST/MNIST IDX files (searched instead of /usr/share/datasets/...). */
  dataDir?: string;
  /** Seed of the train/test/calibration permutation; default 0. */
  seed?: number;
  /** Samples in a calibration split; default 512. */
  calibrationSize?: number;
  /** Fraction held out as test when a file has no official split; default 0.2. */
  testFraction?: number;
  /** The model's inputs, when known: an image folder takes its size, layout and channels from the data input's shape. */
  inputs?: readonly IoInfo[] | undefined;
  /** The input the data goes to (--data-input); default the first. */
  dataInput?: string | undefined;
  /** --preprocess: an image folder's preprocessing JSON (default the folder's preprocess.json). */
  preprocessFile?: string | undefined;
  /** Read at most this many samples (after the split); image folders decode no more than these. */
  limit?: number | undefined;
  /**
   * A text file's window length in tokens (--context); default the data
   * input's static sequence dim ([N, T]), else 128.
   */
  context?: number | undefined;
}

/** A parsed data spec: `fashion-mnist`, `fashion-mnist:train`, `data.npz:test`, `images/:test`, `random`. */
export interface DataSpec {
  readonly source: string;
  readonly split: SplitName | undefined;
}

const SPLITS: readonly SplitName[] = ['train', 'test', 'calibration', 'all'];

export function parseDataSpec(spec: string): DataSpec {
  const colon = spec.lastIndexOf(':');
  const suffix = colon > 0 ? spec.slice(colon + 1) : '';
  if (colon > 0 && (SPLITS as readonly string[]).includes(suffix)) return { source: spec.slice(0, colon), split: suffix as SplitName };
  return { source: spec, split: undefined };
}

/** True for the spec that asks for random inputs instead of data. */
export function isRandomSpec(spec: string): boolean {
  return parseDataSpec(spec).source === 'random';
}

/**
 * Members of a .npz that are not model inputs: labels (`labels`, or `y`),
 * targets (`targets`, `targets/<output>`) and `split` (per example 0 = train,
 * 1 = test: the file's official split, used instead of the seeded one).
 */
export const LABEL_ARRAYS = ['labels', 'y'] as const;
export const TARGETS_ARRAY = 'targets';
export const SPLIT_ARRAY = 'split';

/**
 * Loads the dataset a spec names. Named datasets (`fashion-mnist`, `mnist`)
 * use their official train/test files (default test); `calibration` is a
 * seeded subset of train. Files and folders default to all samples; a split
 * selects a seeded part (`splitIndices`).
 *
 * A .npz's members: `labels` (or `y`) are class labels, `targets` the
 * regression/distillation targets of the model's single output and
 * `targets/<output>` those of one output by name; every other member is a
 * model input, bound by name when the data is fed (data/bind.ts): `x`, or a
 * single member, goes to the data input (beside `x`, members whose axis 0 is
 * not x's sample count are no inputs and are left out). A .npy is one input array; a .txt is byte-level token windows (textDataset). A folder
 * holds PNG/JPEG images (node/images.ts).
 */
export async function loadDataSpec(spec: string, options: DataSpecOptions = {}): Promise<Dataset> {
  const { source, split } = parseDataSpec(spec);
  const named = { 'fashion-mnist': loadFashionMnist, mnist: loadMnist }[source.toLowerCase()];
  const limited = (ds: Dataset) => (options.limit === undefined ? ds : limitSamples(ds, options.limit));
  if (named) {
    if (split === 'all') throw new ModelpressError('E_ARG', `--data ${spec}: choose train, test or calibration for ${source}`);
    const official = split === 'train' || split === 'calibration' ? 'train' : 'test';
    const images = named({ split: official, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) });
    const ds = datasetFromImages(images, `${source}:${split ?? 'test'}`);
    return limited(split === 'calibration' ? selectSamples(ds, calibrationIndices(images.count, options), ds.name) : ds);
  }
  if (source === 'random') throw new ModelpressError('E_ARG', `--data random makes inputs from the model and loads no dataset`);
  if (isDirectory(source)) {
    const input = options.dataInput === undefined ? options.inputs?.[0] : options.inputs?.find((i) => i.name === options.dataInput);
    return loadImageFolder(source, {
      preprocessFile: options.preprocessFile,
      inputShape: input?.shape,
      ...(split === undefined || split === 'all' ? {} : { select: (n: number) => splitIndices(n, split, options) }),
      limit: options.limit,
      name: split === undefined ? source : `${source}:${split}`,
    });
  }
  if (options.preprocessFile !== undefined)
    throw new ModelpressError('E_ARG', `--preprocess applies to image folders; --data ${spec} is not a folder`);
  const lower = source.toLowerCase();
  let ds: Dataset;
  let official: Uint8Array | undefined;
  if (lower.endsWith('.npz')) {
    const npz = datasetFromNpz(await parseNpz(readChecked(source), { file: source, inflateRaw: inflateRawLimited }), source);
    official = npz.officialSplit;
    ds = npz.dataset;
  } else if (lower.endsWith('.npy')) {
    ds = { ...datasetFromArrays(parseNpy(readChecked(source), source), undefined, source, source), file: source };
  } else if (lower.endsWith('.txt')) {
    const text = textDataset(readChecked(source), source, options);
    ds = text.dataset;
    official = text.officialSplit;
  } else if (!existsSync(source) && !/[./\\]/.test(source)) {
    throw new ModelpressError(
      'E_ARG',
      `--data ${spec}: unknown dataset (expected fashion-mnist, mnist, random, a .npz/.npy/.txt file or a folder of images)`,
    );
  } else if (!existsSync(source)) {
    throw new ModelpressError('E_NOT_FOUND', 'data file or folder does not exist', { file: source });
  } else {
    throw new ModelpressError('E_ARG', `--data ${spec}: not a .npz/.npy/.txt file nor a folder of images`, { file: source });
  }
  checkDataset(ds, source);
  if (split === undefined || split === 'all') return limited(ds);
  return limited(selectSamples(ds, fileSplitIndices(sampleCount(ds), split, official, options), `${source}:${split}`));
}

/** Default window of a text file when the model's sequence dim is symbolic. */
export const DEFAULT_TEXT_CONTEXT = 128;

/**
 * A text file as byte-level token windows ([N, T] int64, data/tokens.ts). Its
 * official split is contiguous: the last testFraction (default 0.1) of the
 * windows is test, so no test text sits between training windows.
 */
function textDataset(bytes: Uint8Array, file: string, options: DataSpecOptions): { dataset: Dataset; officialSplit: Uint8Array } {
  const input = options.dataInput === undefined ? options.inputs?.[0] : options.inputs?.find((i) => i.name === options.dataInput);
  const dim = input?.shape?.[1];
  const context = options.context ?? (typeof dim === 'number' && dim > 1 ? dim : DEFAULT_TEXT_CONTEXT);
  const x = byteWindows(bytes, context, file);
  const count = x.shape[0]!;
  const testFraction = options.testFraction ?? 0.1;
  const firstTest = count - Math.round(count * testFraction);
  const officialSplit = new Uint8Array(count);
  officialSplit.fill(1, firstTest);
  return { dataset: { x, y: undefined, name: file, file }, officialSplit };
}

/** A split of a file: its `split` member's official train/test when it has one (calibration: a seeded subset of train), else seeded. */
function fileSplitIndices(count: number, split: SplitName, official: Uint8Array | undefined, options: DataSpecOptions): Uint32Array {
  if (!official) return splitIndices(count, split, options);
  const train: number[] = [];
  const test: number[] = [];
  official.forEach((v, i) => (v === 0 ? train : test).push(i));
  if (split === 'test') return Uint32Array.from(test);
  if (split === 'train') return Uint32Array.from(train);
  if (split === 'calibration') return Uint32Array.from(calibrationIndices(train.length, options), (k) => train[k]!);
  return Uint32Array.from({ length: count }, (_, i) => i);
}

/** A .npz's members as a dataset (see loadDataSpec). */
export function datasetFromNpz(arrays: ReadonlyMap<string, Tensor>, file: string): { dataset: Dataset; officialSplit?: Uint8Array } {
  const names = [...arrays.keys()];
  const labelNames = names.filter((n) => (LABEL_ARRAYS as readonly string[]).includes(n));
  if (labelNames.length > 1) throw new ModelpressError('E_FORMAT', `archive holds both 'labels' and 'y'; keep one label array`, { file });
  const isTarget = (n: string) => n === TARGETS_ARRAY || n.startsWith(`${TARGETS_ARRAY}/`);
  const inputNames = names.filter((n) => !labelNames.includes(n) && !isTarget(n) && n !== SPLIT_ARRAY);
  if (inputNames.length === 0)
    throw new ModelpressError('E_NOT_FOUND', `archive holds no input array, only ${names.map((n) => `'${n}'`).join(', ')}`, { file });
  const xName = inputNames.includes('x') ? 'x' : inputNames[0]!;
  const x = arrays.get(xName)!;
  const labelName = labelNames[0];
  let base: Dataset;
  try {
    base = datasetFromArrays(x, labelName === undefined ? undefined : arrays.get(labelName), file, file);
  } catch (e) {
    // datasetFromArrays calls them x and y.
    if (e instanceof ModelpressError && labelName !== undefined)
      throw new ModelpressError(
        e.code,
        e.message
          .replace(/^.*?: /, '')
          .replace(/'x'/g, `'${xName}'`)
          .replace(/'y'/g, `'${labelName}'`),
        { file },
      );
    throw e;
  }
  // Beside `x`, a member whose axis 0 is not x's examples is no per-example input (np.savez padding, metadata): left out.
  const inputs = Object.fromEntries(
    inputNames.filter((n) => n !== xName && (xName !== 'x' || arrays.get(n)!.shape[0] === x.shape[0])).map((n) => [n, arrays.get(n)!]),
  );
  const targetNames = names.filter(isTarget);
  const targets = Object.fromEntries(
    targetNames.map((n) => [n === TARGETS_ARRAY ? '' : n.slice(TARGETS_ARRAY.length + 1), arrays.get(n)!]),
  );
  const ds: Dataset = {
    ...base,
    ...(xName === 'x' ? {} : { xName }),
    ...(Object.keys(inputs).length ? { inputs } : {}),
    ...(targetNames.length ? { targets } : {}),
    file,
  };
  checkDataset(ds, file);
  const splitArray = arrays.get(SPLIT_ARRAY);
  if (!splitArray) return { dataset: ds };
  const values = splitArray.dtype === 'string' ? [] : typedView(splitArray);
  if (splitArray.shape.length !== 1 || splitArray.shape[0] !== sampleCount(ds))
    throw new ModelpressError(
      'E_SHAPE',
      `array 'split' has shape [${splitArray.shape.join(', ')}]; it needs one value (0 train, 1 test) per example, ${sampleCount(ds)}`,
      { file },
    );
  const officialSplit = Uint8Array.from({ length: sampleCount(ds) }, (_, i) => {
    const v = Number(values[i]);
    if (v !== 0 && v !== 1) throw new ModelpressError('E_FORMAT', `array 'split' holds ${v} at ${i}; 0 is train, 1 test`, { file });
    return v;
  });
  return { dataset: ds, officialSplit };
}

function readChecked(path: string): Uint8Array {
  if (!existsSync(path)) throw new ModelpressError('E_NOT_FOUND', 'data file does not exist', { file: path });
  return readMaybeGzip(path);
}
