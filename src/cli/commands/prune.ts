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
import { modelInputs } from '../data.js';
import type { Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { inlineExternalData } from '../../formats/onnx/inline.js';
import { onnxModelFiles, readOnnxFile, writeOnnxFile } from '../../node/onnx-external.js';
import { checkOutputs } from '../../node/output.js';
import { fileSize } from '../../node/fs.js';
import { pruneChannelsWhileFinetuning } from '../../prune/channel-finetune.js';
import { recalibrateBatchNorm } from '../../prune/channel-bn-recalibrate.js';
import { pruneChannels, type ChannelPruneResult } from '../../prune/channel-surgery.js';
import { pruneAndFinetune } from '../../prune/finetune.js';
import { reconstructLayers, type ReconstructResult } from '../../prune/reconstruct.js';
import { teacherFeeds } from '../../train/teacher.js';
import { parseNmPattern } from '../../prune/nm.js';
import { SCHEDULE_NAMES, type ScheduleName } from '../../prune/schedule.js';
import { paramStats, zerosByName } from '../../prune/stats.js';
import { pruneUnstructured, type UnstructuredMethod, type UnstructuredPruneResult } from '../../prune/unstructured.js';
import type { WeightFilter } from '../../prune/select.js';
import { datasetLogits, evaluateModel, train, type EpochRecord, type TrainResult } from '../../train/trainer.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import type { CliIO } from '../io.js';
import {
  addDataOptions,
  addOptions,
  addOutputOptions,
  addSelectionOptions,
  addTrainingOptions,
  fraction,
  int,
  number,
  oneOf,
  option,
  type DataCliOptions,
  type TrainingCliOptions,
  followSymlinksOption,
} from '../options.js';
import {
  addFidelityOptions,
  checkFidelityFlags,
  enforceFidelity,
  fidelityJson,
  fidelityLines,
  measureFidelity,
  type FidelityFlags,
} from '../fidelity.js';
import {
  checkOutput,
  checkSparsityFlags,
  earlyStopping,
  epochJson,
  labelFreeDistillation,
  learningRate,
  loadData,
  outputFidelity,
  pct,
  penalisedOptimizer,
  penaltyReport,
  printEpochs,
  sparsityOptions,
  sparsityPenalty,
  trainingProgress,
  type SparsityFlags,
  trainingRun,
} from '../training.js';
import { sampleCount } from '../../data/dataset.js';
import { hasPenalty } from '../../train/regularize.js';

const NORMS = ['l1', 'l2', 'bn'] as const;
const SCOPES = ['layer', 'global'] as const;

interface PruneCliOptions extends Partial<DataCliOptions>, Omit<TrainingCliOptions, 'epochs'>, FidelityFlags, SparsityFlags {
  penaltyEpochs: number;
  output: string;
  followSymlinks?: boolean;
  sparsity?: number;
  method: string;
  quality?: number;
  norm: (typeof NORMS)[number];
  scope: (typeof SCOPES)[number];
  schedule: ScheduleName;
  stages: number;
  finetuneEpochs?: number;
  recalibrateBn?: boolean;
  include?: string[];
  exclude?: string[];
  distill?: string | true;
  reconstruct?: boolean;
  json?: boolean;
}

/** `name`: the regularised methods (l1, slimming), which prune the penalty-trained model this way. */
type Plan = { kind: 'unstructured'; method: UnstructuredMethod; name?: 'l1' } | { kind: 'channel'; fraction: number; name?: 'slimming' };

/** Checks the options before anything is read or written; E_ARG naming the option. */
function planFromOptions(o: PruneCliOptions): Plan {
  const finetune = o.data !== undefined && o.finetuneEpochs !== undefined;
  if (o.finetuneEpochs !== undefined && o.data === undefined) throw new ModelpressError('E_ARG', '--finetune-epochs needs --data');
  if (o.schedule !== 'oneshot' && !finetune)
    throw new ModelpressError(
      'E_ARG',
      `--schedule ${o.schedule} raises the sparsity over fine-tuning steps: give --data and --finetune-epochs`,
    );
  if (o.patience !== undefined && o.schedule !== 'oneshot')
    throw new ModelpressError(
      'E_ARG',
      `--patience needs --schedule oneshot: --schedule ${o.schedule} trains to the end to reach its target`,
    );
  if (o.patience !== undefined && !finetune) throw new ModelpressError('E_ARG', '--patience needs --data and --finetune-epochs');
  const method = o.method.trim();
  const penalty = sparsityPenalty(o);
  if (hasPenalty(penalty) && o.data === undefined)
    throw new ModelpressError('E_ARG', '--l1/--group-lasso/--slimming train with the penalty before pruning: give --data');
  if (hasPenalty(penalty) && o.schedule !== 'oneshot')
    throw new ModelpressError('E_ARG', `--l1/--group-lasso/--slimming train before one-shot pruning: drop --schedule ${o.schedule}`);
  if (method === 'l1' || method === 'slimming') {
    const flag = method === 'l1' ? '--l1' : '--slimming';
    if (!(((method === 'l1' ? o.l1 : o.slimming) ?? 0) > 0))
      throw new ModelpressError('E_ARG', `--method ${method} trains with a penalty first: give ${flag} <lambda> (> 0) and --data`);
    if (o.sparsity === undefined) throw new ModelpressError('E_ARG', `--method ${method} needs --sparsity`);
    if (o.quality !== undefined) throw new ModelpressError('E_ARG', '--quality applies to --method magnitude only');
    if (o.reconstruct) throw new ModelpressError('E_ARG', `--reconstruct does not apply to --method ${method}`);
    if (method === 'l1')
      return { kind: 'unstructured', method: { kind: o.scope === 'global' ? 'global' : 'magnitude', sparsity: o.sparsity }, name: 'l1' };
    if (o.norm !== 'bn' && o.norm !== 'l1')
      throw new ModelpressError('E_ARG', '--method slimming ranks channels by their BatchNormalization scale; drop --norm');
    return { kind: 'channel', fraction: o.sparsity, name: 'slimming' };
  }
  if (o.reconstruct && o.data === undefined) throw new ModelpressError('E_ARG', '--reconstruct needs --data (the inputs it refits on)');
  if (o.reconstruct && method === 'channel')
    throw new ModelpressError('E_ARG', '--reconstruct applies to unstructured methods, not channel');
  if (o.reconstruct && o.schedule !== 'oneshot')
    throw new ModelpressError('E_ARG', `--reconstruct refits after one-shot pruning: drop --schedule ${o.schedule}`);
  if (method.startsWith('nm:')) {
    if (o.sparsity !== undefined || o.quality !== undefined)
      throw new ModelpressError('E_ARG', `--method ${method} fixes the sparsity; drop --sparsity/--quality`);
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
  throw new ModelpressError('E_ARG', `--method must be magnitude, global, nm:N:M, channel, l1 or slimming, got '${o.method}'`);
}

/** The distillation loss `--distill [T:alpha]` asks for, or undefined. */
function distillLoss(o: PruneCliOptions): { kind: 'distillation'; temperature: number; alpha: number } | undefined {
  if (o.distill === undefined) return undefined;
  const text = o.distill === true ? '4:0.7' : o.distill;
  const m = /^([0-9.]+):([0-9.]+)$/.exec(text);
  const temperature = m ? Number(m[1]) : NaN;
  const alpha = m ? Number(m[2]) : NaN;
  if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1))
    throw new ModelpressError('E_ARG', `--distill must be T:alpha with T > 0 and alpha in [0, 1], got "${text}"`);
  if (o.finetuneEpochs === undefined) throw new ModelpressError('E_ARG', '--distill needs --data and --finetune-epochs');
  return { kind: 'distillation', temperature, alpha };
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('prune')
    .description(
      'prune Conv/Gemm/MatMul weights (magnitude, global, N:M) or remove channels (graph surgery); optionally fine-tune with masks held',
    )
    .argument('<model>', 'ONNX model (external data is read and inlined)');
  addOptions(
    cmd,
    option(
      '--sparsity <s>',
      "share of the weights to prune (per layer for magnitude, of all selected weights for global), or of each layer's output channels for channel (of all channels with --scope global); needed except with --quality and nm:N:M",
      {
        parse: fraction({ below1: true }),
      },
    ),
    option(
      '--method <m>',
      'magnitude (per layer) | global (one threshold) | nm:N:M (e.g. nm:2:4) | channel (structured, smaller model) | l1 (train with --l1 for --penalty-epochs, then magnitude-prune to --sparsity: per layer, or one threshold with --scope global) | slimming (train with --slimming, then remove the channels with the smallest BatchNormalization scales: --sparsity of each layer, or of all channels with --scope global)',
      {
        default: 'magnitude',
      },
    ),
    option('--quality <q>', 'magnitude: prune |w| < q x std of each layer (Deep Compression) instead of a target sparsity', {
      parse: number({ min: 0 }),
    }),
    option(
      '--norm <n>',
      'channel score: l1/l2 norm of each output filter, or bn: |gamma| of the BatchNormalization after it (L1 where there is none)',
      {
        parse: oneOf(NORMS),
        choices: NORMS,
        default: 'l1',
      },
    ),
    option(
      '--scope <s>',
      'channel: each layer loses --sparsity of its channels, or the lowest --sparsity of all channels under one ranking (use with --norm bn, whose scores compare across layers)',
      {
        parse: oneOf(SCOPES),
        choices: SCOPES,
        default: 'layer',
      },
    ),
    option(
      '--schedule <s>',
      "how the sparsity reaches its target while fine-tuning: oneshot (prune, then fine-tune), iterative (--stages equal increments) or polynomial (TF-MOT's cubic ramp)",
      { parse: oneOf(SCHEDULE_NAMES), choices: SCHEDULE_NAMES, default: 'oneshot' },
    ),
    option('--stages <k>', 'iterative schedule: number of equal sparsity increments', { parse: int({ min: 1 }), default: 4 }),
    followSymlinksOption(),
  );
  addSelectionOptions(cmd, 'weights (layers, for --method channel)');
  addDataOptions(cmd, { what: 'fine-tuning and evaluation data (test accuracy before and after)' });
  addOptions(
    cmd,
    option(
      '--no-recalibrate-bn',
      'channel, one-shot, with --data: keep the BatchNormalization statistics of the uncut model (by default they are measured again on the training data after the cut)',
    ),
    option(
      '--reconstruct',
      "unstructured, with --data: layer by layer in graph order, choose the weights each row prunes by their Optimal Brain Surgeon saliency on the data (as many per row as --method prunes; N:M keeps its masks), then refit the kept weights and bias by least squares so the layer reproduces the original layer's outputs from the pruned network's inputs; before any fine-tuning",
    ),
    option('--distill [T:alpha]', 'fine-tune by distillation from the unpruned model: temperature T and soft-loss weight alpha', {
      defaultText: '4:0.7 when given without a value',
    }),
  );
  addOptions(
    cmd,
    ...sparsityOptions(),
    option('--penalty-epochs <n>', 'with --l1/--group-lasso/--slimming (and --data): epochs of training with the penalty before pruning', {
      parse: int({ min: 1 }),
      default: 3,
    }),
  );
  addTrainingOptions(cmd, {
    epochsFlag: '--finetune-epochs',
    epochsHelp: 'fine-tune this many epochs after (or while) pruning, with the masks held (needs --data)',
    lrSchedule: 'cosine',
    what: 'fine-tuning',
    seeds: 'the hold-out split and shuffling',
  });
  addFidelityOptions(cmd, { labels: true });
  addOutputOptions(cmd, {
    output: 'where to write the pruned ONNX model (must differ from the input)',
    json: 'print a JSON report on stdout (schema modelpress.prune/1, docs/CLI.md)',
  });
  cmd.action(async (input: string, o: PruneCliOptions) => {
    const plan = planFromOptions(o);
    const distill = distillLoss(o);
    checkOutput(o.output, input, ...(o.data === undefined ? [] : [o.data]));
    const file = readOnnxFile(input, { followSymlinks: o.followSymlinks });
    checkOutputs([o.output], onnxModelFiles(input, file.proto));
    const original = inlineExternalData(file.proto, file, input);
    try {
      checkSparsityFlags(original, o);
    } catch (e) {
      throw e instanceof ModelpressError ? e.withFile(input) : e;
    }
    const data =
      o.data !== undefined ? await loadData({ ...o, data: o.data, labels: 'optional', inputs: modelInputs(original) }) : undefined;
    // Data without labels: the fine-tune distils from the original model (MSE against its outputs).
    const labelled = data?.train.y !== undefined;
    checkFidelityFlags(o, data, o.data);
    if (distill && data && !labelled)
      throw new ModelpressError(
        'E_ARG',
        `--distill T:alpha needs labels; ${o.data} has none, and without them prune distils from the original model by MSE`,
      );
    const filter: WeightFilter = { include: o.include ?? [], exclude: o.exclude ?? [] };
    const channelOptions =
      plan.kind === 'channel'
        ? plan.name === 'slimming'
          ? { fraction: plan.fraction, norm: 'bn' as const, scope: o.scope, include: filter.include, exclude: filter.exclude }
          : { fraction: plan.fraction, norm: o.norm, scope: o.scope, include: filter.include, exclude: filter.exclude }
        : undefined;
    const accuracyBefore =
      data && labelled ? (await evaluateModel(createNodeRunner, original, data.test, { file: input })).accuracy : undefined;
    const kd =
      distill && data
        ? { loss: distill, batchFeeds: teacherFeeds(await datasetLogits(createNodeRunner, original, data.train)) }
        : data && (o.finetuneEpochs !== undefined || hasPenalty(sparsityPenalty(o)))
          ? await labelFreeDistillation(original, data)
          : {};
    const progress = trainingProgress(io);
    // --l1/--group-lasso/--slimming: train with the penalty first (proximal steps), then prune what it left.
    const penalty = sparsityPenalty(o);
    let start = original;
    let penaltyPhase: Record<string, unknown> | undefined;
    if (data && hasPenalty(penalty)) {
      try {
        const run = trainingRun(o, data, o.penaltyEpochs, progress.onProgress);
        const { optimizer, penalised } = penalisedOptimizer(run.optimizer, original, penalty);
        const t = await train({ ...run, optimizer, model: original, ...kd, file: input });
        start = t.model;
        const accuracy = labelled ? (await evaluateModel(createNodeRunner, start, data.test, { file: input })).accuracy : null;
        penaltyPhase = {
          epochs: o.penaltyEpochs,
          ...penaltyReport(penalty, t.weights, penalised),
          testAccuracy: accuracy,
          history: t.history.map(epochJson),
        };
      } catch (e) {
        throw e instanceof ModelpressError ? e.withFile(input) : e;
      } finally {
        progress.stop();
      }
    }
    let result: ModelProto;
    let report: Record<string, unknown>;
    let history: EpochRecord[] = [];
    let recalibrated: string[] = [];
    let reconstruction: ReconstructResult | undefined;
    try {
      if (plan.kind === 'channel') {
        let pruned: Pick<ChannelPruneResult, 'model' | 'layers' | 'skipped'>;
        if (data && o.finetuneEpochs !== undefined && o.schedule !== 'oneshot') {
          // Gradual: channels masked to zero as the fraction rises, cut at the end.
          const r = await pruneChannelsWhileFinetuning({
            ...trainingRun(o, data, o.finetuneEpochs, progress.onProgress),
            model: start,
            ...kd,
            ...channelOptions!,
            schedule: o.schedule,
            stages: o.stages,
            file: input,
          });
          pruned = r;
          result = r.model;
          history = r.train.history;
        } else {
          pruned = pruneChannels(start, channelOptions!);
          result = pruned.model;
          if (data && o.recalibrateBn !== false) {
            // the cut changes what every later layer sees: measure the BatchNorm statistics again (no training)
            const r = await recalibrateBatchNorm(createNodeRunner, result, data.train);
            result = r.model;
            recalibrated = r.layers;
          }
          if (data && o.finetuneEpochs !== undefined) {
            const t: TrainResult = await train({
              ...trainingRun(o, data, o.finetuneEpochs, progress.onProgress),
              model: result,
              ...kd,
              ...earlyStopping(o),
              file: input,
            });
            result = t.model;
            history = t.history;
          }
        }
        report = {
          method: plan.name ?? 'channel',
          norm: channelOptions!.norm,
          scope: channelOptions!.scope,
          schedule: o.schedule,
          fraction: plan.fraction,
          bnRecalibrated: recalibrated,
          layers: pruned.layers,
          skipped: pruned.skipped.map(({ layer, op, blockingOp, reason }) => ({ layer, op, blockingOp, reason })),
        };
      } else {
        let pruned: UnstructuredPruneResult | undefined;
        if (o.reconstruct && data) {
          const first = pruneUnstructured(start, plan.method, filter);
          reconstruction = await reconstructLayers({
            openRunner: createNodeRunner,
            original,
            pruned: first.model,
            masks: first.masks,
            // N:M keeps its pattern; the others re-choose each row's pruned weights by OBS saliency (same count per row)
            select: plan.method.kind === 'nm' ? 'given' : 'obs',
            data: data.train,
            seed: o.seed,
            file: input,
          });
          pruned = { ...first, model: reconstruction.model, masks: reconstruction.masks };
        }
        if (data && o.finetuneEpochs !== undefined) {
          const r = await pruneAndFinetune({
            ...(pruned ? { pruned } : {}),
            ...trainingRun(o, data, o.finetuneEpochs, progress.onProgress),
            model: start,
            ...kd,
            method: plan.method,
            schedule: o.schedule,
            stages: o.stages,
            filter,
            ...earlyStopping(o),
            file: input,
          });
          pruned = r.initial;
          result = r.model;
          history = r.train.history;
          report = { maskUpdates: r.maskUpdates.length };
        } else {
          pruned ??= pruneUnstructured(start, plan.method, filter);
          result = pruned.model;
          report = {};
        }
        if (reconstruction)
          report.reconstruction = {
            layers: reconstruction.layers,
            skipped: reconstruction.skipped,
          };
        const after = zerosByName(
          result,
          pruned.layers.map((l) => l.name),
        );
        const layers = pruned.layers.map((l) => {
          const z = after.get(l.name) ?? { params: l.params, zeros: l.zerosAfter };
          return {
            name: l.name,
            op: l.op,
            shape: l.shape,
            params: l.params,
            nonzerosBefore: l.params - l.zerosBefore,
            nonzerosAfter: z.params - z.zeros,
            sparsityBefore: l.sparsityBefore,
            sparsityAfter: z.zeros / z.params,
            ...(l.threshold === undefined ? {} : { threshold: l.threshold }),
          };
        });
        const params = layers.reduce((a, l) => a + l.params, 0);
        const nz = layers.reduce((a, l) => a + l.nonzerosAfter, 0);
        const method = plan.name
          ? plan.name
          : plan.method.kind === 'nm'
            ? `nm:${plan.method.pattern.n}:${plan.method.pattern.m}`
            : plan.method.kind === 'quality'
              ? 'magnitude'
              : plan.method.kind;
        report = {
          method,
          ...(plan.method.kind === 'quality' ? { quality: plan.method.quality } : {}),
          sparsityTarget: o.sparsity ?? null,
          schedule: o.schedule,
          ...report,
          prunedParams: params,
          prunedNonzeros: nz,
          prunedSparsity: params > 0 ? 1 - nz / params : 0,
          layers,
          skipped: pruned.skipped,
        };
      }
    } catch (e) {
      throw e instanceof ModelpressError ? e.withFile(input) : e;
    } finally {
      progress.stop();
    }
    // What the outputs lost, on the held-back test split (random inputs without data): the result, and pruning alone
    // (one shot, no training) for comparison.
    const alone =
      history.length > 0 || reconstruction || penaltyPhase
        ? plan.kind === 'channel'
          ? pruneChannels(original, channelOptions!).model
          : pruneUnstructured(original, plan.method, filter).model
        : undefined;
    const fidelity = await measureFidelity(original, result, data, {
      dataName: o.data,
      ...(alone ? { beforeTraining: alone } : {}),
      ...(accuracyBefore === undefined ? {} : { accuracyOriginal: accuracyBefore }),
      file: input,
    });
    const reconstructed =
      reconstruction && history.length > 0 && data ? await (await outputFidelity(original, data.test))(reconstruction.model) : undefined;
    enforceFidelity(io, fidelity, o, input);
    const accuracyAfter = fidelity.accuracyResult;
    const before = paramStats(original);
    const afterStats = paramStats(result);
    writeOnnxFile(o.output, result);
    const summary = {
      schema: 'modelpress.prune/1',
      command: 'prune',
      input,
      output: o.output,
      ...report,
      ...(penaltyPhase ? { penaltyPhase } : {}),
      params: { before: before.params, after: afterStats.params },
      nonzeros: { before: before.nonzeros, after: afterStats.nonzeros },
      bytes: { before: fileSize(input), after: fileSize(o.output) },
      fidelity: { ...fidelityJson(fidelity), ...(reconstructed ? { reconstructed } : {}) },
      ...(data
        ? {
            data: o.data,
            seed: o.seed,
            finetuneEpochs: o.finetuneEpochs ?? 0,
            optimizer: o.optimizer,
            lr: learningRate(o),
            lrSchedule: o.lrSchedule,
            distill: distill ? { temperature: distill.temperature, alpha: distill.alpha } : null,
            labels: labelled,
            accuracyBefore,
            accuracyAfter,
            testExamples: sampleCount(data.test),
            epochs: history.map(epochJson),
          }
        : {}),
    };
    if (o.json) {
      io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    printEpochs(io, history, o.finetuneEpochs ?? history.length);
    const rows = (summary as { layers?: Record<string, unknown>[] }).layers ?? [];
    for (const l of rows) {
      if ('channelsBefore' in l)
        io.stdout(`${l.layer}: ${l.channelsBefore} -> ${l.channelsAfter} channels (consumers ${(l.consumers as string[]).join(', ')})\n`);
      else
        io.stdout(
          `${l.name} (${l.op}): sparsity ${pct(l.sparsityBefore as number)} -> ${pct(l.sparsityAfter as number)}, ${l.nonzerosAfter}/${l.params} nonzero\n`,
        );
    }
    const skipped = (report.skipped as { name?: string; layer?: string; reason: string }[] | undefined) ?? [];
    for (const s of skipped) io.stdout(`skipped ${s.name ?? s.layer}: ${s.reason}\n`);
    io.stdout(
      `params ${before.params} -> ${afterStats.params}, nonzeros ${before.nonzeros} -> ${afterStats.nonzeros}; ${summary.bytes.before} -> ${summary.bytes.after} bytes\n`,
    );
    if (reconstructed)
      io.stdout(
        `after reconstruction, before fine-tuning: ${reconstructed.snrDb.toFixed(1)} dB (cosine ${reconstructed.cosine.toFixed(4)})\n`,
      );
    if (penaltyPhase) {
      const acc = penaltyPhase.testAccuracy;
      io.stdout(
        `after ${o.penaltyEpochs} penalty epochs: ${penaltyPhase.penalisedZeros}/${penaltyPhase.penalisedValues} penalised values exactly zero${typeof acc === 'number' ? `, test accuracy ${pct(acc)}` : ''}\n`,
      );
    }
    io.stdout(
      fidelityLines(
        fidelity,
        penaltyPhase
          ? 'pruning the original alone (no penalty, no fine-tuning)'
          : plan.kind === 'channel' || !reconstruction
            ? 'pruning alone'
            : 'magnitude pruning alone',
      ),
    );
    io.stdout(`wrote ${o.output}\n`);
  });
}
