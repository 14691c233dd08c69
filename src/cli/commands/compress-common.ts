/**
 * Options and helpers the train-time compression commands share (cluster,
 * qat, distill, sensitivity): dataset flags, reading the input model,
 * evaluating, writing the output atomically only after everything succeeded.
 */
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { readOnnx } from '../../formats/onnx/read.js';
import { readFileChecked } from '../../node/fs.js';
import type { OptimizerSpec } from '../../train/optim/index.js';
import { DATASETS, loadTrainingData, type PreparedData } from '../data.js';

export interface DataCliOptions {
  data?: string;
  dataDir?: string;
  limit?: number;
  testLimit?: number;
  /** Training examples held out for validation; default 0 (commands that declare --val-size). */
  valSize?: number;
  seed: number;
  batchSize: number;
  lr?: number;
  json?: boolean;
}

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ModelpressError('E_ARG', `${name} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}, got '${v}'`);
    return n;
  };
}

export function numberArg(name: string, check: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new ModelpressError('E_ARG', `${name} must be ${what}, got '${v}'`);
    return n;
  };
}

/**
 * --data, --data-dir, --test-limit, --json, and for commands that train
 * (`lr` given): --limit, --seed, --batch-size, --lr.
 */
export function addDataOptions(cmd: Command, opts: { dataRequired: boolean; lr?: string }): Command {
  const data = new Option('--data <name>', `dataset: ${DATASETS.join(', ')}`);
  if (opts.dataRequired) data.makeOptionMandatory();
  cmd.addOption(data).option('--data-dir <dir>', 'folder with the four IDX files (default: the system copy under /usr/share/datasets)');
  if (opts.lr !== undefined) {
    cmd
      .option('--limit <n>', 'use only the first n training examples', intArg('--limit', 1))
      .option('--seed <n>', 'seed of shuffling and initialization', intArg('--seed', 0), 0)
      .option('--batch-size <n>', 'examples per training step', intArg('--batch-size', 1), 64)
      .option('--lr <rate>', `Adam learning rate (default ${opts.lr})`, numberArg('--lr', (n) => n > 0, 'a number > 0'));
  }
  return cmd.option('--test-limit <n>', 'evaluate on only the first n test examples', intArg('--test-limit', 1)).option('--json', 'print a JSON report on stdout');
}

/** Train, validation (--val-size, default none) and test splits of --data, limited by --limit / --test-limit. */
export function loadData(opts: DataCliOptions): Promise<PreparedData> {
  if (opts.data === undefined) throw new ModelpressError('E_ARG', '--data is required here');
  return loadTrainingData({
    data: opts.data,
    seed: opts.seed ?? 0,
    valSize: opts.valSize ?? 0,
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    ...(opts.testLimit === undefined ? {} : { testLimit: opts.testLimit }),
  });
}

export function adam(opts: DataCliOptions, defaultLr: number): OptimizerSpec {
  return { name: 'adam', lr: opts.lr ?? defaultLr };
}

/** Reads an ONNX model file (external data beside it). */
export function readModel(path: string): ModelProto {
  const bytes = readFileChecked(path);
  return readOnnx(bytes, { file: path, loadExternal: (loc) => readFileChecked(resolve(dirname(path), loc)) }).proto;
}

/** E_ARG when the output would overwrite an input. */
export function checkOutput(output: string, ...inputs: string[]): void {
  for (const i of inputs) if (resolve(i) === resolve(output)) throw new ModelpressError('E_ARG', '--output must differ from the input model', { file: output });
}

export const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
