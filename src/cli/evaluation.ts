/**
 * What `eval` and `compare` share: their flags, opening models (ONNX or an
 * .mpz holding one) with onnxruntime, running a model over a dataset (or
 * seeded random inputs) into the canonical record, the terminal rendering
 * and the --report writers. `loadChartAssets` also serves sensitivity's page.
 */
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { hasMpzMagic } from '../codec/container/format.js';
import { unpackModel } from '../codec/container/reader.js';
import { ModelpressError } from '../core/errors.js';
import { limitSamples, type Dataset } from '../data/dataset.js';
import { evaluate } from '../eval/evaluate.js';
import { datasetSource, randomSource, type FeedSource } from '../eval/feeds.js';
import type { Layout } from '../eval/fit.js';
import { findStatePairs, type StatePair } from '../eval/inputs.js';
import { estimateEnergy, type EnergyEstimate } from '../eval/energy.js';
import { HOROWITZ_45NM, parseEnergyTable, withMemorySpec, type EnergyTable } from '../eval/energy-table.js';
import { onnxModelInfo, type ModelInfo } from '../eval/model-info.js';
import { readOnnx } from '../formats/onnx/read.js';
import { isRandomSpec, loadDataSpec } from '../node/datasets.js';
import { readFileChecked, writeFileAtomic } from '../node/fs.js';
import { startRssMonitor } from '../node/memory.js';
import { createNodeRunner } from '../node/ort-runner.js';
import { formatSnr, buildEvalRecord, EVAL_SCHEMA, type EvalRecord } from '../report/record.js';
import { renderHtml, type ChartAssets } from '../report/html.js';
import { renderMarkdown } from '../report/markdown.js';
import { fixed, summaryRows } from '../report/format.js';
import type { Runner } from '../runtime/runner.js';
import type { CliIO } from './io.js';
import {
  addOptions,
  calibSizeOption,
  commaList,
  dataDirOption,
  dimOption,
  dimsRecord,
  int,
  maxCmBytesOption,
  maxOutputOption,
  number,
  oneOf,
  option,
  pair,
  preprocessOption,
  seedOption,
  testFractionOption,
  type Parse,
} from './options.js';
import { startProgress } from './progress.js';
import { formatTable } from './table.js';

/** Options shared by eval and compare, as parsed by the vocabulary (commander's camelCase of the flags). */
export interface EvalCliOptions {
  data: string;
  dataDir?: string;
  json?: boolean;
  report?: string;
  batchSize?: number;
  dim?: [string, number][];
  shape?: [string, number[]][];
  fill?: [string, number][];
  state?: [string, string][];
  dataInput?: string;
  classOutput?: string;
  limit?: number;
  seed: number;
  scale?: number;
  mean?: number[];
  std?: number[];
  dataLayout?: Layout;
  layout?: Layout;
  topK: number;
  warmup: number;
  runs: number;
  latency?: boolean;
  threads?: number;
  maxOutput?: number;
  maxCmBytes?: number;
  calibSize: number;
  testFraction: number;
  preprocess?: string;
  energy?: boolean;
  energyTable?: string;
  energyMemory?: string;
}

const LAYOUTS: readonly Layout[] = ['nchw', 'nhwc'];
const layoutWord: Parse<Layout> = (v, flag) => oneOf(LAYOUTS)(v.toLowerCase(), flag);

/** Adds the flags eval and compare share. */
export function addEvalOptions(cmd: Command): Command {
  const dataHelp =
    "inputs: 'fashion-mnist[:train|test|calibration]', 'mnist[:split]', a .npz/.npy file or a folder of PNG/JPEG images [:train|test|calibration|all], or 'random' (docs/CLI.md, Data specs)";
  return addOptions(
    cmd,
    option('--data <spec>', dataHelp, { default: 'random' }),
    dataDirOption(),
    preprocessOption(),
    option('--json', `print the canonical JSON record on stdout (schema ${EVAL_SCHEMA}, docs/CLI.md)`),
    option('--report <file>', 'write a report: .html (self-contained, charts), .md (Markdown) or .json'),
    option('--batch-size <n>', 'samples per run', {
      parse: int({ min: 1 }),
      defaultText: '64; 1 for random inputs, which take their batch from --dim/--shape',
    }),
    dimOption(),
    option('--shape <input=d0,d1,...>', 'full shape of an input for random data, e.g. --shape x=1,3,64,64; repeatable', {
      parse: pair((v, f) => v.split(/[,x]/).map((d) => int({ min: 1 })(d.trim(), f))),
      repeatable: true,
    }),
    option('--fill <input=value>', 'feed a constant to an input, e.g. --fill sr=16000; repeatable', {
      parse: pair(number()),
      repeatable: true,
    }),
    option('--state <input=output>', 'carry an output into an input between runs; repeatable', {
      parse: pair(),
      repeatable: true,
      defaultText: 'pairs found by name, h=hn',
    }),
    option('--data-input <name>', 'model input the data goes into', { defaultText: 'the first' }),
    option('--class-output <name>', 'model output holding class scores [batch, classes]', { defaultText: 'the first' }),
    option('--limit <n>', 'evaluate the first n samples (random data: number of runs)', {
      parse: int({ min: 1 }),
      defaultText: 'all samples; 10 random runs',
    }),
    seedOption('random inputs and data splits'),
    option('--scale <x>', 'multiply data by x first (a number or a ratio like 1/255)', {
      parse: number(),
      defaultText: '1/255 for uint8 data into a float input, else 1',
    }),
    option('--mean <m[,m...]>', 'subtract after scaling: one value or one per channel', { parse: commaList(number()) }),
    option('--std <s[,s...]>', 'divide after the mean: one value or one per channel', { parse: commaList(number()) }),
    option('--data-layout <nchw|nhwc>', 'layout of image samples in the data', { parse: layoutWord }),
    option('--layout <nchw|nhwc>', 'layout the model input expects (transposes when it differs from --data-layout)', { parse: layoutWord }),
    option('--top-k <k>', 'k of top-k accuracy', { parse: int({ min: 1 }), default: 5 }),
    option('--warmup <n>', 'latency warm-up runs', { parse: int({ min: 0 }), default: 3 }),
    option('--runs <n>', 'timed latency runs per batch size', { parse: int({ min: 1 }), default: 20 }),
    option('--no-latency', 'skip the latency measurement'),
    option('--threads <n>', 'onnxruntime intra-op threads', { parse: int({ min: 1 }), defaultText: 'all cores' }),
    maxOutputOption(),
    maxCmBytesOption(),
    calibSizeOption(512),
    testFractionOption(),
    option('--no-energy', 'skip the energy-per-inference estimate'),
    option(
      '--energy-table <file.json>',
      'energy table replacing the default (pJ per op by type, per access by memory size; docs/ALGORITHMS.md)',
      {
        defaultText: 'Horowitz 45 nm',
      },
    ),
    option('--energy-memory <size=pJ,...>', "memory levels for the energy estimate: SRAM sizes with pJ per 64-bit access, and 'dram=pJ'", {
      defaultText: '8K=10,32K=20,1M=100,dram=1300',
    }),
  );
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
  /** The energy table (undefined with --no-energy) and the file it came from. */
  readonly energy: { readonly table: EnergyTable; readonly file?: string } | undefined;
}

export function parseEvalSettings(opts: EvalCliOptions): EvalSettings {
  return {
    dataSpec: opts.data,
    batchSize: opts.batchSize,
    dims: dimsRecord(opts.dim),
    shapes: Object.fromEntries(opts.shape ?? []),
    fill: Object.fromEntries(opts.fill ?? []),
    state: opts.state ? opts.state.map(([input, output]) => ({ input, output })) : undefined,
    limit: opts.limit,
    seed: opts.seed,
    options: opts,
    energy: opts.energy === false ? undefined : energyTableOf(opts),
  };
}

function energyTableOf(opts: EvalCliOptions): { table: EnergyTable; file?: string } {
  let table = HOROWITZ_45NM;
  const file = opts.energyTable;
  if (file !== undefined) table = parseEnergyTable(new TextDecoder().decode(readFileChecked(file)), file);
  if (opts.energyMemory !== undefined) table = withMemorySpec(table, opts.energyMemory);
  return { table, ...(file === undefined ? {} : { file }) };
}

/** Loads the dataset of a spec once (null for random inputs); `inputs` (the model's) size an image folder. */
export async function loadSettingsData(s: EvalSettings, inputs?: Runner['inputs']): Promise<Dataset | null> {
  if (isRandomSpec(s.dataSpec)) return null;
  const o = s.options;
  const ds = await loadDataSpec(s.dataSpec, {
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
    seed: s.seed,
    calibrationSize: o.calibSize,
    testFraction: o.testFraction,
    ...(inputs === undefined ? {} : { inputs }),
    ...(o.dataInput === undefined ? {} : { dataInput: o.dataInput }),
    ...(o.preprocess === undefined ? {} : { preprocessFile: o.preprocess }),
    ...(s.limit === undefined ? {} : { limit: s.limit }),
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
    ...(o.dataInput === undefined ? {} : { dataInput: o.dataInput }),
    preprocess: {
      ...(o.scale === undefined ? {} : { scale: o.scale }),
      ...(o.mean === undefined ? {} : { mean: o.mean }),
      ...(o.std === undefined ? {} : { std: o.std }),
      ...(o.dataLayout === undefined ? {} : { dataLayout: o.dataLayout }),
      ...(o.layout === undefined ? {} : { modelLayout: o.layout }),
    },
  });
}

/**
 * Opens a model file with onnxruntime and reads its size and parameter count.
 * An .mpz container (see `pack`) is decoded to its ONNX model to run; its
 * size is the .mpz file's, so compression ratios show what packing saved.
 */
export async function openModel(path: string, s: EvalSettings): Promise<OpenedModel> {
  const stored = readFileChecked(path);
  let bytes = stored;
  if (hasMpzMagic(stored)) {
    const { maxOutput, maxCmBytes } = s.options;
    const unpacked = unpackModel(stored, {
      file: path,
      ...(maxOutput === undefined ? {} : { maxOutput }),
      ...(maxCmBytes === undefined ? {} : { maxGenericBytes: maxCmBytes }),
    });
    if (unpacked.format !== 'onnx' || unpacked.files.length !== 1)
      throw new ModelpressError('E_UNSUPPORTED', `the .mpz holds a ${unpacked.format} model; eval runs ONNX models`, { file: path });
    bytes = unpacked.files[0]!.bytes;
  }
  const info = { ...onnxModelInfo(bytes, path), sizeBytes: stored.byteLength };
  // estimated before the session opens, so a table missing a type fails fast
  const energy = s.energy
    ? estimateEnergy(readOnnx(bytes, { file: path, validate: false }).proto, {
        table: s.energy.table,
        ...(s.energy.file === undefined ? {} : { tableFile: s.energy.file }),
        dims: s.dims,
        shapes: s.shapes,
        file: path,
      })
    : undefined;
  const threads = s.options.threads;
  const runner = await createNodeRunner(bytes, { file: path, ...(threads === undefined ? {} : { intraOpThreads: threads }) });
  return { runner, info, ...(energy ? { energy } : {}) };
}

export interface OpenedModel {
  readonly runner: Runner;
  readonly info: ModelInfo;
  readonly energy?: EnergyEstimate;
}

/** Evaluates one opened model (with an optional opened reference) and builds its record. */
export async function evaluateOpened(
  model: OpenedModel & { path: string },
  reference: (OpenedModel & { path: string }) | undefined,
  data: Dataset | null,
  s: EvalSettings,
  io: CliIO,
): Promise<EvalRecord> {
  const state = s.state ?? findStatePairs(model.runner.inputs, model.runner.outputs);
  const source = makeSource(model.runner, data, s, state);
  for (const note of source.notes ?? []) io.stderr(`${note}\n`);
  const o = s.options;
  const progress = startProgress(io, `eval ${model.path}`, source.count);
  const memory = startRssMonitor();
  let result: Awaited<ReturnType<typeof evaluate>>;
  try {
    result = await evaluate(model.runner, source, {
      ...(s.batchSize === undefined ? {} : { batchSize: s.batchSize }),
      ...(o.classOutput === undefined ? {} : { classOutput: o.classOutput }),
      topK: o.topK,
      ...(reference ? { reference: reference.runner } : {}),
      state,
      latency: o.latency === false ? false : { warmup: o.warmup, runs: o.runs },
      onProgress: (done) => progress.update(done),
      afterRun: memory.sample,
    });
  } finally {
    progress.stop();
  }
  const peak = memory.stop();
  const record = buildEvalRecord({
    model: model.path,
    info: model.info,
    result,
    peakRssBytes: peak,
    reference: reference ? { model: reference.path, info: reference.info } : undefined,
  });
  return model.energy ? { ...record, energy: model.energy } : record;
}

/** Reads Chart.js and chartjs-chart-matrix (UMD builds) from node_modules for inlining. */
export function loadChartAssets(): ChartAssets {
  const require = createRequire(import.meta.url);
  const read = (pkg: string, file: string) => {
    const dir = dirname(require.resolve(pkg));
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch (e) {
      throw new ModelpressError('E_NOT_FOUND', `cannot read ${pkg}'s ${file} for the HTML report (is ${pkg} installed?)`, {
        file: join(dir, file),
        cause: e,
      });
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
  let out = formatTable(
    header.map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })),
    rows,
  );
  for (const r of records) {
    const detail: string[] = [];
    if (r.perClass) {
      detail.push(
        `\n${r.model}: per class (accuracy ${(r.accuracy! * 100).toFixed(2)}%${r.topKAccuracy ? `, top-${r.topKAccuracy.k} ${(r.topKAccuracy.value * 100).toFixed(2)}%` : ''}, F1 macro ${fixed(r.f1Macro, 4)}, weighted ${fixed(r.f1Weighted, 4)})\n`,
      );
      detail.push(
        formatTable(
          ['class', 'precision', 'recall', 'F1', 'support'].map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })),
          r.perClass.map((c) => [String(c.class), fixed(c.precision, 4), fixed(c.recall, 4), fixed(c.f1, 4), String(c.support)]),
        ),
      );
    }
    if (r.fidelity && r.fidelity.outputs.length > 1) {
      detail.push(`\n${r.model}: fidelity per output vs ${r.fidelity.reference}\n`);
      detail.push(
        formatTable(
          ['output', 'cosine', 'SNR', 'max |err|', 'mean |err|'].map((h, i) => ({ header: h, align: i === 0 ? 'left' : 'right' })),
          r.fidelity.outputs.map((f) => [
            f.output,
            f.cosine.toFixed(6),
            formatSnr(f.snrDb),
            f.maxAbsError.toExponential(3),
            f.meanAbsError.toExponential(3),
          ]),
        ),
      );
    }
    if (r.latencyBatchMs)
      detail.push(
        `\n${r.model}: batch ${r.latencyBatchMs.batchSize} latency p50 ${r.latencyBatchMs.p50.toFixed(3)} ms, p95 ${r.latencyBatchMs.p95.toFixed(3)} ms, p99 ${r.latencyBatchMs.p99.toFixed(3)} ms\n`,
      );
    out += detail.join('');
  }
  return out + formatEnergy(records);
}

const uj = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

/**
 * The energy table: per inference, µJ, split into compute and memory; an
 * ideally sparse row under a model whose zero weights would save at least 1%.
 */
export function formatEnergy(records: readonly EvalRecord[]): string {
  const withEnergy = records.filter((r) => r.energy);
  if (withEnergy.length === 0) return '';
  const rows: string[][] = [];
  for (const r of withEnergy) {
    const e = r.energy!;
    const types = Object.entries(e.macsByType)
      .filter(([, m]) => m > 0)
      .map(([t, m]) => `${t} ${((100 * m) / Math.max(1, e.macs)).toFixed(0)}%`)
      .join(', ');
    rows.push([r.model, 'dense', uj(e.totalUJ), uj(e.computeUJ), uj(e.memoryUJ), (e.macs / 1e6).toFixed(2), types || '-']);
    if (e.sparse && e.sparse.totalUJ <= 0.99 * e.totalUJ)
      rows.push([
        '',
        'ideally sparse',
        uj(e.sparse.totalUJ),
        uj(e.sparse.computeUJ),
        uj(e.sparse.memoryUJ),
        (e.sparse.macs / 1e6).toFixed(2),
        '',
      ]);
  }
  const tables = [...new Set(withEnergy.map((r) => r.energy!.table))].join('; ');
  let out = `\nenergy per inference (estimate, ${tables}; dense = what onnxruntime executes, ideally sparse = zero weights skipped)\n`;
  out += formatTable(
    ['model', 'count', 'total µJ', 'compute µJ', 'memory µJ', 'MMACs', 'MACs by type'].map((h, i) => ({
      header: h,
      align: i < 2 || i === 6 ? 'left' : 'right',
    })),
    rows,
  );
  for (const r of withEnergy)
    if (r.energy!.notCounted.length > 0)
      out += `${r.model}: ${r.energy!.notCounted.length} node(s) not counted (no rule or unknown shapes): ${r.energy!.notCounted.slice(0, 5).join(', ')}${r.energy!.notCounted.length > 5 ? ', ...' : ''}\n`;
  return out;
}
