/**
 * `modelpress prune <in> -o <out> --sparsity S [--method magnitude|global|nm:N:M|channel]`:
 * zeroes the smallest weights of Conv/Gemm/MatMul layers (per layer, globally,
 * or N:M along the input axis), or removes whole output channels with graph
 * surgery (a smaller dense model). With `--data fashion-mnist
 * --finetune-epochs N` it fine-tunes with the masks held by the optimizer, so
 * pruned weights stay exactly zero; the iterative and polynomial schedules
 * raise the sparsity (or the removed channel fraction) over the steps;
 * `--distill` fine-tunes against the unpruned model's logits. Nothing is
 * written until everything has succeeded.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { inlineExternalData } from '../../formats/onnx/inline.js';
import { readOnnxFile, writeOnnxFile } from '../../node/onnx-external.js';
import { fileSize } from '../../node/fs.js';
import { pruneChannelsWhileFinetuning } from '../../prune/channel-finetune.js';
import { recalibrateBatchNorm } from '../../prune/channel-bn-recalibrate.js';
import { pruneChannels, type ChannelPruneResult } from '../../prune/channel-surgery.js';
import { pruneAndFinetune } from '../../prune/finetune.js';
import { teacherFeeds } from '../../train/teacher.js';
import { parseNmPattern } from '../../prune/nm.js';
import { SCHEDULE_NAMES, type ScheduleName } from '../../prune/schedule.js';
import { paramStats, zerosByName } from '../../prune/stats.js';
import { pruneUnstructured, type UnstructuredMethod, type UnstructuredPruneResult } from '../../prune/unstructured.js';
import type { WeightFilter } from '../../prune/select.js';
import { OPTIMIZER_NAMES, type OptimizerName, type OptimizerSpec } from '../../train/optim/index.js';
import { parseLrSchedule } from '../../train/schedules.js';
import { datasetLogits, evaluateModel, train, type EpochRecord, type TrainResult } from '../../train/trainer.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import type { CliIO } from '../io.js';
import { DATASETS, loadTrainingData, type PreparedData } from '../data.js';
import { epochJson, epochLine, trainingProgress } from './train.js';
import { sampleCount } from '../../data/dataset.js';

interface PruneCliOptions {
  output: string;
  sparsity?: number;
  method: string;
  quality?: number;
  norm: 'l1' | 'l2' | 'bn';
  scope: 'layer' | 'global';
  schedule: ScheduleName;
  steps: number;
  data?: string;
  dataDir?: string;
  finetuneEpochs?: number;
  recalibrateBn?: boolean;
  lr?: number;
  lrSchedule: string;
  batchSize: number;
  optimizer: OptimizerName;
  seed: number;
  valSize: number;
  limit?: number;
  include: string[];
  exclude: string[];
  distill?: string | true;
  json?: boolean;
}

function numberOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new ModelpressError('E_ARG', `${name} must be a number, got '${v}'`);
    return n;
  };
}

function intOption(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ModelpressError('E_ARG', `${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter((s) => s)];
}

type Plan = { kind: 'unstructured'; method: UnstructuredMethod } | { kind: 'channel'; fraction: number };

/** Checks the options before anything is read or written; E_ARG naming the option. */
function planFromOptions(o: PruneCliOptions): Plan {
  if (o.sparsity !== undefined && !(o.sparsity >= 0 && o.sparsity < 1)) throw new ModelpressError('E_ARG', `--sparsity must be in [0, 1), got ${o.sparsity}`);
  if (o.quality !== undefined && !(o.quality >= 0)) throw new ModelpressError('E_ARG', `--quality must be >= 0, got ${o.quality}`);
  const finetune = o.data !== undefined && o.finetuneEpochs !== undefined;
  if (o.finetuneEpochs !== undefined && o.data === undefined) throw new ModelpressError('E_ARG', '--finetune-epochs needs --data');
  if (o.schedule !== 'oneshot' && !finetune) throw new ModelpressError('E_ARG', `--schedule ${o.schedule} raises the sparsity over fine-tuning steps: give --data and --finetune-epochs`);
  const method = o.method.trim();
  if (method.startsWith('nm:')) {
    if (o.sparsity !== undefined || o.quality !== undefined) throw new ModelpressError('E_ARG', `--method ${method} fixes the sparsity; drop --sparsity/--quality`);
    if (o.schedule !== 'oneshot') throw new ModelpressError('E_ARG', `--schedule ${o.schedule} needs --method magnitude or global`);
    return { kind: 'unstructured', method: { kind: 'nm', pattern: parseNmPattern(method.slice(3)) } };
  }
  if (method === 'magnitude' && o.quality !== undefined) {
    if (o.sparsity !== undefined) throw new ModelpressError('E_ARG', 'give either --sparsity or --quality, not both');
    if (o.schedule !== 'oneshot') throw new ModelpressError('E_ARG', `--schedule ${o.schedule} needs --sparsity (a target), not --quality`);
    return { kind: 'unstructured', method: { kind: 'quality', quality: o.quality } };
  }
  if (o.quality !== undefined) throw new ModelpressError('E_ARG', '--quality applies to --method magnitude only');
  if (o.sparsity === undefined) throw new ModelpressError('E_ARG', `--method ${method} needs --sparsity`);
  if (method === 'magnitude' || method === 'global') return { kind: 'unstructured', method: { kind: method, sparsity: o.sparsity } };
  if (method === 'channel') return { kind: 'channel', fraction: o.sparsity };
  throw new ModelpressError('E_ARG', `--method must be magnitude, global, nm:N:M or channel, got '${o.method}'`);
}

function optimizerSpec(o: PruneCliOptions, trainCount: number): OptimizerSpec {
  const epochs = o.finetuneEpochs ?? 1;
  return { name: o.optimizer, lr: o.lr ?? (o.optimizer === 'sgd' ? 0.01 : 1e-3), schedule: parseLrSchedule(o.lrSchedule, Math.ceil(trainCount / o.batchSize), epochs) };
}

/** The distillation loss `--distill [T:alpha]` asks for, or undefined. */
function distillLoss(o: PruneCliOptions): { kind: 'distillation'; temperature: number; alpha: number } | undefined {
  if (o.distill === undefined) return undefined;
  const text = o.distill === true ? '4:0.7' : o.distill;
  const m = /^([0-9.]+):([0-9.]+)$/.exec(text);
  const temperature = m ? Number(m[1]) : NaN;
  const alpha = m ? Number(m[2]) : NaN;
  if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1)) throw new ModelpressError('E_ARG', `--distill must be T:alpha with T > 0 and alpha in [0, 1], got '${text}'`);
  if (o.finetuneEpochs === undefined) throw new ModelpressError('E_ARG', '--distill needs --data and --finetune-epochs');
  return { kind: 'distillation', temperature, alpha };
}

function trainingData(o: PruneCliOptions): Promise<PreparedData> {
  return loadTrainingData({ data: o.data!, seed: o.seed, valSize: o.valSize, ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }), ...(o.limit === undefined ? {} : { limit: o.limit }) });
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function register(program: Command, io: CliIO): void {
  program
    .command('prune')
    .description('prune Conv/Gemm/MatMul weights (magnitude, global, N:M) or remove channels (graph surgery); optionally fine-tune with masks held')
    .argument('<model>', 'ONNX model')
    .requiredOption('-o, --output <file>', 'where to write the pruned ONNX model')
    .option('--sparsity <s>', 'fraction of weights (channel: of output channels per layer) to prune, in [0, 1)', numberOption('--sparsity'))
    .option('--method <m>', 'magnitude (per layer) | global (one threshold) | nm:N:M (e.g. nm:2:4) | channel (structured, smaller model)', 'magnitude')
    .option('--quality <q>', 'magnitude: prune |w| < q x std of each layer (Deep Compression) instead of a target sparsity', numberOption('--quality'))
    .addOption(new Option('--norm <n>', 'channel score: l1/l2 norm of each output filter, or bn: |gamma| of the BatchNormalization after it').choices(['l1', 'l2', 'bn']).default('l1'))
    .addOption(new Option('--scope <s>', 'channel: --sparsity per layer, or of all channels under one ranking (use with --norm bn)').choices(['layer', 'global']).default('layer'))
    .addOption(new Option('--schedule <s>', 'how the sparsity reaches its target during fine-tuning').choices([...SCHEDULE_NAMES]).default('oneshot'))
    .option('--steps <k>', 'iterative schedule: number of equal sparsity increments', intOption('--steps', 1), 4)
    .option('--data <name>', `fine-tuning / evaluation dataset: ${DATASETS.join(', ')}`)
    .option('--data-dir <dir>', 'folder with the IDX files (default: the system copy under /usr/share/datasets)')
    .option('--no-recalibrate-bn', 'channel, one-shot, with --data: keep the BatchNormalization statistics of the uncut model (default: measure them again on the training data after the cut)')
    .option('--finetune-epochs <n>', 'fine-tune this many epochs after (or while) pruning', intOption('--finetune-epochs', 1))
    .option('--lr <rate>', 'fine-tuning learning rate (default 1e-3 for adam/adamw, 0.01 for sgd)', numberOption('--lr'))
    .option('--lr-schedule <spec>', 'constant | cosine | step:<epochs>[:<gamma>], optionally prefixed warmup:<epochs>+', 'cosine')
    .option('--batch-size <n>', 'fine-tuning examples per step', intOption('--batch-size', 1), 64)
    .addOption(new Option('--optimizer <name>', 'fine-tuning optimizer').choices([...OPTIMIZER_NAMES]).default('adam'))
    .option('--seed <n>', 'seed of the hold-out split and shuffling', intOption('--seed', 0), 0)
    .option('--val-size <n>', 'training examples held out to pick the best epoch (0: none)', intOption('--val-size', 0), 5000)
    .option('--limit <n>', 'fine-tune on only the first n training examples', intOption('--limit', 1))
    .option('--distill [T:alpha]', 'fine-tune by distillation from the unpruned model: temperature T and soft-loss weight alpha (default 4:0.7)')
    .option('--include <glob>', 'only weights/layers whose name or node name matches (repeatable, comma-separated)', collect, [])
    .option('--exclude <glob>', 'never weights/layers whose name or node name matches (repeatable, comma-separated)', collect, [])
    .option('--json', 'print a JSON report on stdout')
    .action(async (input: string, o: PruneCliOptions) => {
      const plan = planFromOptions(o);
      const distill = distillLoss(o);
      if (resolve(input) === resolve(o.output)) throw new ModelpressError('E_ARG', '--output must differ from the input model', { file: o.output });
      const file = readOnnxFile(input);
      const original = inlineExternalData(file.proto, file, input);
      const data = o.data !== undefined ? await trainingData(o) : undefined;
      const filter: WeightFilter = { include: o.include, exclude: o.exclude };
      const accuracyBefore = data ? (await evaluateModel(createNodeRunner, original, data.test, { file: input })).accuracy : undefined;
      const kd = distill && data ? { loss: distill, batchFeeds: teacherFeeds(await datasetLogits(createNodeRunner, original, data.train)) } : {};
      const progress = trainingProgress(io);
      let result: ModelProto;
      let report: Record<string, unknown>;
      let history: EpochRecord[] = [];
      let recalibrated: string[] = [];
      try {
        if (plan.kind === 'channel') {
          let pruned: Pick<ChannelPruneResult, 'model' | 'layers' | 'skipped'>;
          const channelOptions = { fraction: plan.fraction, norm: o.norm, scope: o.scope, include: o.include, exclude: o.exclude };
          if (data && o.finetuneEpochs !== undefined && o.schedule !== 'oneshot') {
            // Gradual: channels masked to zero as the fraction rises, cut at the end.
            const r = await pruneChannelsWhileFinetuning({
              openRunner: createNodeRunner, model: original, ...kd, ...channelOptions, schedule: o.schedule, stages: o.steps, train: data.train, ...(data.validation ? { validation: data.validation } : {}),
              epochs: o.finetuneEpochs, batchSize: o.batchSize, seed: o.seed, optimizer: optimizerSpec(o, sampleCount(data.train)), onProgress: progress.onProgress, file: input,
            });
            pruned = r;
            result = r.model;
            history = r.train.history;
          } else {
            pruned = pruneChannels(original, channelOptions);
            result = pruned.model;
            if (data && o.recalibrateBn !== false) {
              // the cut changes what every later layer sees: measure the BatchNorm statistics again (no training)
              const r = await recalibrateBatchNorm(createNodeRunner, result, data.train);
              result = r.model;
              recalibrated = r.layers;
            }
            if (data && o.finetuneEpochs !== undefined) {
              const t: TrainResult = await train({ openRunner: createNodeRunner, model: result, ...kd, train: data.train, ...(data.validation ? { validation: data.validation } : {}), epochs: o.finetuneEpochs, batchSize: o.batchSize, seed: o.seed, optimizer: optimizerSpec(o, sampleCount(data.train)), onProgress: progress.onProgress, file: input });
              result = t.model;
              history = t.history;
            }
          }
          report = { method: 'channel', norm: o.norm, scope: o.scope, schedule: o.schedule, fraction: plan.fraction, bnRecalibrated: recalibrated, layers: pruned.layers, skipped: pruned.skipped.map(({ layer, op, blockingOp, reason }) => ({ layer, op, blockingOp, reason })) };
        } else {
          let pruned: UnstructuredPruneResult;
          if (data && o.finetuneEpochs !== undefined) {
            const r = await pruneAndFinetune({
              openRunner: createNodeRunner, model: original, ...kd, method: plan.method, schedule: o.schedule, stages: o.steps, filter, train: data.train, ...(data.validation ? { validation: data.validation } : {}),
              epochs: o.finetuneEpochs, batchSize: o.batchSize, seed: o.seed, optimizer: optimizerSpec(o, sampleCount(data.train)), onProgress: progress.onProgress, file: input,
            });
            pruned = r.initial;
            result = r.model;
            history = r.train.history;
            report = { maskUpdates: r.maskUpdates.length };
          } else {
            pruned = pruneUnstructured(original, plan.method, filter);
            result = pruned.model;
            report = {};
          }
          const after = zerosByName(result, pruned.layers.map((l) => l.name));
          const layers = pruned.layers.map((l) => {
            const z = after.get(l.name) ?? { params: l.params, zeros: l.zerosAfter };
            return { name: l.name, op: l.op, shape: l.shape, params: l.params, nonzerosBefore: l.params - l.zerosBefore, nonzerosAfter: z.params - z.zeros, sparsityBefore: l.sparsityBefore, sparsityAfter: z.zeros / z.params, ...(l.threshold === undefined ? {} : { threshold: l.threshold }) };
          });
          const params = layers.reduce((a, l) => a + l.params, 0);
          const nz = layers.reduce((a, l) => a + l.nonzerosAfter, 0);
          const method = plan.method.kind === 'nm' ? `nm:${plan.method.pattern.n}:${plan.method.pattern.m}` : plan.method.kind === 'quality' ? 'magnitude' : plan.method.kind;
          report = { method, ...(plan.method.kind === 'quality' ? { quality: plan.method.quality } : {}), sparsityTarget: o.sparsity ?? null, schedule: o.schedule, ...report, prunedParams: params, prunedNonzeros: nz, prunedSparsity: params > 0 ? 1 - nz / params : 0, layers, skipped: pruned.skipped };
        }
      } catch (e) {
        throw e instanceof ModelpressError ? e.withFile(input) : e;
      } finally {
        progress.stop();
      }
      const accuracyAfter = data ? (await evaluateModel(createNodeRunner, result, data.test, { file: o.output })).accuracy : undefined;
      const before = paramStats(original);
      const afterStats = paramStats(result);
      writeOnnxFile(o.output, result);
      const summary = {
        schema: 'modelpress.prune/1',
        command: 'prune',
        input,
        output: o.output,
        ...report,
        params: { before: before.params, after: afterStats.params },
        nonzeros: { before: before.nonzeros, after: afterStats.nonzeros },
        bytes: { before: fileSize(input), after: fileSize(o.output) },
        ...(data
          ? { data: o.data, seed: o.seed, finetuneEpochs: o.finetuneEpochs ?? 0, optimizer: o.optimizer, lr: o.lr ?? (o.optimizer === 'sgd' ? 0.01 : 1e-3), lrSchedule: o.lrSchedule, distill: distill ? { temperature: distill.temperature, alpha: distill.alpha } : null, accuracyBefore, accuracyAfter, testExamples: sampleCount(data.test), epochs: history.map(epochJson) }
          : {}),
      };
      if (o.json) {
        io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      for (const r of history) io.stdout(`${epochLine(r, o.finetuneEpochs ?? history.length)}\n`);
      const rows = (summary as { layers?: Record<string, unknown>[] }).layers ?? [];
      for (const l of rows) {
        if ('channelsBefore' in l) io.stdout(`${l.layer}: ${l.channelsBefore} -> ${l.channelsAfter} channels (consumers ${(l.consumers as string[]).join(', ')})\n`);
        else io.stdout(`${l.name} (${l.op}): sparsity ${pct(l.sparsityBefore as number)} -> ${pct(l.sparsityAfter as number)}, ${l.nonzerosAfter}/${l.params} nonzero\n`);
      }
      const skipped = (report.skipped as { name?: string; layer?: string; reason: string }[] | undefined) ?? [];
      for (const s of skipped) io.stdout(`skipped ${s.name ?? s.layer}: ${s.reason}\n`);
      io.stdout(`params ${before.params} -> ${afterStats.params}, nonzeros ${before.nonzeros} -> ${afterStats.nonzeros}; ${summary.bytes.before} -> ${summary.bytes.after} bytes\n`);
      if (accuracyBefore !== undefined && accuracyAfter !== undefined) io.stdout(`test accuracy ${pct(accuracyBefore)} -> ${pct(accuracyAfter)} on ${sampleCount(data!.test)} examples\n`);
      io.stdout(`wrote ${o.output}\n`);
    });
}
