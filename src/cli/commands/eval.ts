/**
 * `modelpress eval <model> [--data <spec>] [--ref <model>] [--json] [--report out.html|out.md|out.json]`:
 * runs a model over a dataset (or seeded random inputs) with onnxruntime and
 * reports accuracy, per-class F1, fidelity against a reference, latency,
 * throughput, peak memory, size and parameters. The shared machinery here is
 * also used by `compare`.
 */
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { hasMpzMagic } from '../../codec/container/format.js';
import { unpackModel } from '../../codec/container/reader.js';
import { ModelpressError } from '../../core/errors.js';
import { limitSamples, type Dataset } from '../../data/dataset.js';
import { evaluate } from '../../eval/evaluate.js';
import { datasetSource, randomSource, type FeedSource } from '../../eval/feeds.js';
import type { Layout } from '../../eval/fit.js';
import { findStatePairs, type StatePair } from '../../eval/inputs.js';
import { onnxModelInfo, type ModelInfo } from '../../eval/model-info.js';
import { isRandomSpec, loadDataSpec } from '../../node/datasets.js';
import { readFileChecked, writeFileAtomic } from '../../node/fs.js';
import { startRssMonitor } from '../../node/memory.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { formatSnr, buildEvalRecord, type EvalRecord } from '../../report/record.js';
import { renderHtml, type ChartAssets } from '../../report/html.js';
import { renderMarkdown } from '../../report/markdown.js';
import { fixed, summaryRows } from '../../report/format.js';
import type { Runner } from '../../runtime/runner.js';
import type { CliIO } from '../io.js';
import { startProgress } from '../progress.js';
import { formatTable } from '../table.js';

/** Options shared by eval and compare (commander's camelCase of the flags). */
export interface EvalCliOptions {
  data?: string;
  dataDir?: string;
  json?: boolean;
  report?: string;
  batchSize?: string;
  dim?: string[];
  shape?: string[];
  fill?: string[];
  state?: string[];
  input?: string;
  output?: string;
  limit?: string;
  seed?: string;
  scale?: string;
  mean?: string;
  std?: string;
  dataLayout?: string;
  layout?: string;
  topK?: string;
  warmup?: string;
  runs?: string;
  latency?: boolean;
  threads?: string;
  calibrationSize?: string;
  testFraction?: string;
}

/** Adds the flags eval and compare share. */
export function addEvalOptions(cmd: Command): Command {
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  return cmd
    .option('--data <spec>', "inputs: 'fashion-mnist[:train|test|calibration]', 'mnist[:split]', a .npz (x, optional y) or .npy file [:train|test|calibration|all], or 'random'", 'random')
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST/MNIST IDX files (default /usr/share/datasets/fashion-mnist)')
    .option('--json', 'print the canonical JSON record on stdout (docs/CLI.md)')
    .option('--report <file>', 'write a report: .html (self-contained, charts), .md (Markdown) or .json')
    .option('--batch-size <n>', 'samples per run (default 64; 1 for random inputs, which take their batch from --dim/--shape)')
    .option('--dim <name=value>', 'value of a symbolic input dim, e.g. --dim batch=1 (repeatable)', collect)
    .option('--shape <input=d0,d1,...>', 'full shape of an input for random data, e.g. --shape x=1,3,64,64 (repeatable)', collect)
    .option('--fill <input=value>', 'feed a constant to an input, e.g. --fill sr=16000 (repeatable)', collect)
    .option('--state <input=output>', 'carry an output into an input between runs (default: pairs found by name, h=hn) (repeatable)', collect)
    .option('--input <name>', 'model input the data goes into (default: the first)')
    .option('--output <name>', 'model output holding class scores [batch, classes] (default: the first)')
    .option('--limit <n>', 'evaluate the first n samples (random data: number of runs, default 10)')
    .option('--seed <n>', 'seed for random inputs and data splits (default 0)')
    .option('--scale <x>', 'multiply data by x first (default 1/255 for uint8 data into a float input, else 1)')
    .option('--mean <m[,m...]>', 'subtract after scaling: one value or one per channel')
    .option('--std <s[,s...]>', 'divide after the mean: one value or one per channel')
    .option('--data-layout <nchw|nhwc>', 'layout of image samples in the data')
    .option('--layout <nchw|nhwc>', 'layout the model input expects (transposes when it differs from --data-layout)')
    .option('--top-k <k>', 'k of top-k accuracy (default 5)')
    .option('--warmup <n>', 'latency warm-up runs (default 3)')
    .option('--runs <n>', 'timed latency runs per batch size (default 20)')
    .option('--no-latency', 'skip the latency measurement')
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)')
    .option('--calibration-size <n>', 'samples in a calibration split (default 512)')
    .option('--test-fraction <f>', 'test share when a file has no official split (default 0.2)');
}

function int(flag: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ModelpressError('E_ARG', `--${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.includes('/') ? Number(v.split('/')[0]) / Number(v.split('/')[1]) : v);
  if (!Number.isFinite(n)) throw new ModelpressError('E_ARG', `--${flag} must be a number, got '${v}'`);
  return n;
}

function nums(flag: string, v: string | undefined): number[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => num(flag, s.trim())!);
}

function pairs(flag: string, list: string[] | undefined): [string, string][] {
  return (list ?? []).map((s) => {
    const eq = s.lastIndexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw new ModelpressError('E_ARG', `--${flag} expects name=value, got '${s}'`);
    return [s.slice(0, eq), s.slice(eq + 1)];
  });
}

function layout(flag: string, v: string | undefined): Layout | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (l !== 'nchw' && l !== 'nhwc') throw new ModelpressError('E_ARG', `--${flag} must be nchw or nhwc, got '${v}'`);
  return l;
}

/** Everything parsed from the flags, independent of the model. */
export interface EvalSettings {
  readonly dataSpec: string;
  readonly batchSize: number | undefined;
  readonly dims: Record<string, number>;
  readonly shapes: Record<string, number[]>;
  readonly fill: Record<string, number>;
  readonly state: StatePair[] | undefined;
  readonly limit: number | undefined;
  readonly seed: number;
  readonly options: EvalCliOptions;
}

export function parseEvalSettings(opts: EvalCliOptions): EvalSettings {
  const dims: Record<string, number> = {};
  for (const [k, v] of pairs('dim', opts.dim)) dims[k] = int('dim', v, 1)!;
  const shapes: Record<string, number[]> = {};
  for (const [k, v] of pairs('shape', opts.shape)) shapes[k] = v.split(/[,x]/).map((d) => int('shape', d.trim(), 1)!);
  const fill: Record<string, number> = {};
  for (const [k, v] of pairs('fill', opts.fill)) fill[k] = num('fill', v)!;
  const state = opts.state ? pairs('state', opts.state).map(([input, output]) => ({ input, output })) : undefined;
  layout('data-layout', opts.dataLayout);
  layout('layout', opts.layout);
  return {
    dataSpec: opts.data ?? 'random',
    batchSize: int('batch-size', opts.batchSize, 1),
    dims,
    shapes,
    fill,
    state,
    limit: int('limit', opts.limit, 1),
    seed: int('seed', opts.seed) ?? 0,
    options: opts,
  };
}

/** Loads the dataset of a spec once (null for random inputs). */
export async function loadSettingsData(s: EvalSettings): Promise<Dataset | null> {
  if (isRandomSpec(s.dataSpec)) return null;
  const o = s.options;
  const ds = await loadDataSpec(s.dataSpec, {
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
    seed: s.seed,
    ...(o.calibrationSize === undefined ? {} : { calibrationSize: int('calibration-size', o.calibrationSize, 1)! }),
    ...(o.testFraction === undefined ? {} : { testFraction: num('test-fraction', o.testFraction)! }),
  });
  return s.limit !== undefined ? limitSamples(ds, s.limit) : ds;
}

function makeSource(runner: Runner, data: Dataset | null, s: EvalSettings, state: StatePair[]): FeedSource {
  const o = s.options;
  if (!data) return randomSource(runner.inputs, s.limit ?? 10, { dims: s.dims, shapes: s.shapes, fill: s.fill, state, seed: s.seed });
  return datasetSource(data, runner.inputs, {
    dims: s.dims,
    shapes: s.shapes,
    fill: s.fill,
    state,
    ...(o.input === undefined ? {} : { dataInput: o.input }),
    preprocess: {
      ...(o.scale === undefined ? {} : { scale: num('scale', o.scale)! }),
      ...(o.mean === undefined ? {} : { mean: nums('mean', o.mean)! }),
      ...(o.std === undefined ? {} : { std: nums('std', o.std)! }),
      ...(o.dataLayout === undefined ? {} : { dataLayout: layout('data-layout', o.dataLayout)! }),
      ...(o.layout === undefined ? {} : { modelLayout: layout('layout', o.layout)! }),
    },
  });
}

/**
 * Opens a model file with onnxruntime and reads its size and parameter count.
 * An .mpz container (see `pack`) is decoded to its ONNX model to run; its
 * size is the .mpz file's, so compression ratios show what packing saved.
 */
export async function openModel(path: string, s: EvalSettings): Promise<{ runner: Runner; info: ModelInfo }> {
  const stored = readFileChecked(path);
  let bytes = stored;
  if (hasMpzMagic(stored)) {
    const unpacked = unpackModel(stored, { file: path });
    if (unpacked.format !== 'onnx' || unpacked.files.length !== 1) throw new ModelpressError('E_UNSUPPORTED', `the .mpz holds a ${unpacked.format} model; eval runs ONNX models`, { file: path });
    bytes = unpacked.files[0]!.bytes;
  }
  const info = { ...onnxModelInfo(bytes, path), sizeBytes: stored.byteLength };
  const threads = int('threads', s.options.threads, 1);
  const runner = await createNodeRunner(bytes, { file: path, ...(threads === undefined ? {} : { intraOpThreads: threads }) });
  return { runner, info };
}

/** Evaluates one opened model (with an optional opened reference) and builds its record. */
export async function evaluateOpened(
  model: { path: string; runner: Runner; info: ModelInfo },
  reference: { path: string; runner: Runner; info: ModelInfo } | undefined,
  data: Dataset | null,
  s: EvalSettings,
  io: CliIO,
): Promise<EvalRecord> {
  const state = s.state ?? findStatePairs(model.runner.inputs, model.runner.outputs);
  const source = makeSource(model.runner, data, s, state);
  const o = s.options;
  const progress = startProgress(io, `eval ${model.path}`, source.count);
  const memory = startRssMonitor();
  let result;
  try {
    result = await evaluate(model.runner, source, {
      ...(s.batchSize === undefined ? {} : { batchSize: s.batchSize }),
      ...(o.output === undefined ? {} : { classOutput: o.output }),
      ...(o.topK === undefined ? {} : { topK: int('top-k', o.topK, 1)! }),
      ...(reference ? { reference: reference.runner } : {}),
      state,
      latency: o.latency === false ? false : { warmup: int('warmup', o.warmup) ?? 3, runs: int('runs', o.runs, 1) ?? 20 },
      onProgress: (done) => progress.update(done),
      afterRun: memory.sample,
    });
  } finally {
    progress.stop();
  }
  const peak = memory.stop();
  return buildEvalRecord({
    model: model.path,
    info: model.info,
    result,
    peakRssBytes: peak,
    reference: reference ? { model: reference.path, info: reference.info } : undefined,
  });
}

/** Reads Chart.js and chartjs-chart-matrix (UMD builds) from node_modules for inlining. */
export function loadChartAssets(): ChartAssets {
  const require = createRequire(import.meta.url);
  const read = (pkg: string, file: string) => {
    const dir = dirname(require.resolve(pkg));
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch (e) {
      throw new ModelpressError('E_NOT_FOUND', `cannot read ${pkg}'s ${file} for the HTML report (is ${pkg} installed?)`, { file: join(dir, file), cause: e });
    }
  };
  return { chartJs: read('chart.js', 'chart.umd.min.js'), chartMatrixJs: read('chartjs-chart-matrix', 'chartjs-chart-matrix.min.js') };
}

/** Writes a report whose kind follows the extension (.html, .md, .json). */
export function writeReport(path: string, records: readonly EvalRecord[], json: unknown, title: string): void {
  const ext = extname(path).toLowerCase();
  let text: string;
  if (ext === '.html' || ext === '.htm') text = renderHtml(records, loadChartAssets(), { title });
  else if (ext === '.md' || ext === '.markdown') text = renderMarkdown(records, { title });
  else if (ext === '.json') text = `${JSON.stringify(json, null, 2)}\n`;
  else throw new ModelpressError('E_ARG', `--report ${path}: use a .html, .md or .json file name`);
  writeFileAtomic(path, new TextEncoder().encode(text));
}

/** The terminal rendering: summary table, then per-class and per-output detail. */
export function formatRecords(records: readonly EvalRecord[]): string {
  const { header, rows } = summaryRows(records);
  let out = formatTable(header.map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })), rows);
  for (const r of records) {
    const detail: string[] = [];
    if (r.per_class) {
      detail.push(`\n${r.model}: per class (accuracy ${(r.accuracy! * 100).toFixed(2)}%${r.top_k_accuracy ? `, top-${r.top_k_accuracy.k} ${(r.top_k_accuracy.value * 100).toFixed(2)}%` : ''}, F1 macro ${fixed(r.f1_macro, 4)}, weighted ${fixed(r.f1_weighted, 4)})\n`);
      detail.push(formatTable(['class', 'precision', 'recall', 'F1', 'support'].map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })), r.per_class.map((c) => [String(c.class), fixed(c.precision, 4), fixed(c.recall, 4), fixed(c.f1, 4), String(c.support)])));
    }
    if (r.fidelity && r.fidelity.outputs.length > 1) {
      detail.push(`\n${r.model}: fidelity per output vs ${r.fidelity.reference}\n`);
      detail.push(formatTable(['output', 'cosine', 'SNR', 'max |err|', 'mean |err|'].map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })), r.fidelity.outputs.map((f) => [f.output, f.cosine.toFixed(6), formatSnr(f.snr_db), f.max_abs_error.toExponential(3), f.mean_abs_error.toExponential(3)])));
    }
    if (r.latency_batch_ms) detail.push(`\n${r.model}: batch ${r.latency_batch_ms.batch_size} latency p50 ${r.latency_batch_ms.p50.toFixed(3)} ms, p95 ${r.latency_batch_ms.p95.toFixed(3)} ms, p99 ${r.latency_batch_ms.p99.toFixed(3)} ms\n`);
    out += detail.join('');
  }
  return out;
}

export function register(program: Command, io: CliIO): void {
  addEvalOptions(
    program
      .command('eval')
      .description('evaluate an ONNX model: accuracy, F1, fidelity vs --ref, latency, throughput, peak memory, size')
      .argument('<model>', 'ONNX model file, or an .mpz container holding one')
      .option('--ref <model>', 'reference model run on the same inputs: fidelity (cosine, SNR, agreement, errors) and compression ratio'),
  ).action(async (modelPath: string, opts: EvalCliOptions & { ref?: string }) => {
    const s = parseEvalSettings(opts);
    const model = { path: modelPath, ...(await openModel(modelPath, s)) };
    const reference = opts.ref ? { path: opts.ref, ...(await openModel(opts.ref, s)) } : undefined;
    try {
      const data = await loadSettingsData(s);
      const record = await evaluateOpened(model, reference, data, s, io);
      if (opts.report) writeReport(opts.report, [record], record, `modelpress eval: ${modelPath}`);
      io.stdout(opts.json ? `${JSON.stringify(record, null, 2)}\n` : formatRecords([record]));
    } finally {
      await model.runner.dispose();
      await reference?.runner.dispose();
    }
  });
}
