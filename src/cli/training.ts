import cliProgress from 'cli-progress';
import type { ModelProto } from 'onnx-buf';
import { writeOnnx } from '../formats/onnx/write.js';
import { fileSize, writeFileAtomic } from '../node/fs.js';
import { checkOutputs } from '../node/output.js';
import { createNodeRunner } from '../node/ort-runner.js';
import { createOptimizer, type OptimizerName, type OptimizerSpec, type Param, type StepOptimizer } from '../train/optim/index.js';
import { countZeros, hasPenalty, proximalSteps, withProximalSteps, type SparsityPenalty } from '../train/regularize.js';
import { parseLrSchedule } from '../train/schedules.js';
import {
  datasetLogits,
  evaluateModel,
  train,
  type EarlyStoppingOptions,
  type EpochRecord,
  type TrainProgress,
  type TrainResult,
} from '../train/trainer.js';
import { loadTrainingData, type PreparedData } from './data.js';
import type { CliIO } from './io.js';
import { number, option, type DataCliOptions, type TrainingCliOptions } from './options.js';
import type { Option } from 'commander';
import { ModelpressError } from '../core/errors.js';
import { enforceFidelity, fidelityJson, fidelityLines, measureFidelity, type FidelityFlags } from './fidelity.js';
import { sampleCount, type Dataset } from '../data/dataset.js';
import { makeTensor } from '../core/tensor.js';
import { FidelityAccumulator } from '../eval/fidelity.js';
import type { LossSpec } from '../train/autodiff/types.js';
import { teacherFeeds } from '../train/teacher.js';
import type { BatchFeeds } from '../train/trainer/step-session.js';
import { onnxModelFiles, readOnnxFile } from '../node/onnx-external.js';

/** A fraction as a percentage with two decimals; '-' when there is none. */
export const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

/** The optimizer settings of the training group (what the optimizer step reads). */
export type OptimizerFlags = Pick<
  TrainingCliOptions,
  'optimizer' | 'lr' | 'weightDecay' | 'momentum' | 'maxGradNorm' | 'lrSchedule' | 'batchSize'
>;

/** The learning rate used: --lr, else `adamLr` for adam/adamw (the command's default) and 0.01 for sgd. */
export function learningRate(o: Pick<TrainingCliOptions, 'optimizer' | 'lr'>, adamLr = 1e-3): number {
  return o.lr ?? (o.optimizer === 'sgd' ? 0.01 : adamLr);
}

/** The optimizer the training group describes, its schedule over `epochs` epochs of `trainCount` examples. */
export function optimizerSpec(o: OptimizerFlags, trainCount: number, epochs: number, adamLr = 1e-3): OptimizerSpec {
  const name: OptimizerName = o.optimizer;
  return {
    name,
    lr: learningRate(o, adamLr),
    ...(o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay }),
    ...(o.momentum === undefined ? {} : { momentum: o.momentum }),
    ...(o.maxGradNorm === undefined ? {} : { maxGradNorm: o.maxGradNorm }),
    schedule: parseLrSchedule(o.lrSchedule, Math.ceil(trainCount / o.batchSize), epochs),
  };
}

/**
 * The train() options every training command fills the same way: the --data
 * splits (validation when there is a hold-out), `epochs`, batch size, seed,
 * the optimizer of the training group and the progress callback.
 */
export function trainingRun(
  o: OptimizerFlags & { seed: number },
  data: Pick<PreparedData, 'train' | 'validation'>,
  epochs: number,
  onProgress: (e: TrainProgress) => void,
  adamLr?: number,
) {
  return {
    openRunner: createNodeRunner,
    train: data.train,
    ...(data.validation ? { validation: data.validation } : {}),
    epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    optimizer: optimizerSpec(o, sampleCount(data.train), epochs, adamLr),
    onProgress,
  };
}

/** The sparsity penalty flags (--l1, --group-lasso, --slimming) of train, finetune and prune. */
export type SparsityFlags = SparsityPenalty;

/** The --l1, --group-lasso and --slimming options (λ >= 0; a negative or non-finite value is E_ARG before anything runs). */
export function sparsityOptions(): Option[] {
  return [
    option(
      '--l1 <lambda>',
      'L1 penalty λ·Σ|w| on Conv/Gemm/MatMul weights, applied after each optimizer step by soft-thresholding (w ← sign(w)·max(|w| − lr·λ, 0)), so weights reach exact zeros',
      { parse: number({ min: 0 }) },
    ),
    option(
      '--group-lasso <lambda>',
      'group-lasso penalty λ·Σ‖w_f‖₂ over the output channels (filters) of the same weights; each filter is scaled by max(0, 1 − lr·λ/‖w_f‖₂) after each step, so whole filters reach zero',
      { parse: number({ min: 0 }) },
    ),
    option('--slimming <lambda>', 'network slimming: L1 penalty λ·Σ|γ| on BatchNormalization scales, soft-thresholded after each step', {
      parse: number({ min: 0 }),
    }),
  ];
}

/** The penalty of the flags (only the λ given). */
export function sparsityPenalty(o: SparsityFlags): SparsityPenalty {
  return {
    ...(o.l1 === undefined ? {} : { l1: o.l1 }),
    ...(o.groupLasso === undefined ? {} : { groupLasso: o.groupLasso }),
    ...(o.slimming === undefined ? {} : { slimming: o.slimming }),
  };
}

/**
 * The optimizer train() gets: the spec itself without a penalty, else a
 * factory that sets the proximal steps of `penalty` on `model`'s weights;
 * `penalised` names the tensors they act on.
 */
export function penalisedOptimizer(
  spec: OptimizerSpec,
  model: ModelProto,
  penalty: SparsityPenalty,
): { optimizer: OptimizerSpec | ((params: Param[]) => StepOptimizer); penalised: string[] } {
  if (!hasPenalty(penalty)) return { optimizer: spec, penalised: [] };
  const steps = proximalSteps(model, penalty);
  return { optimizer: withProximalSteps((p) => createOptimizer(p, spec), steps), penalised: [...steps.keys()] };
}

/**
 * Before any data is read: E_GRAPH when a positive λ finds nothing to act on
 * in `model` (--slimming without BatchNormalization, say).
 */
export function checkSparsityFlags(model: ModelProto, o: SparsityFlags): void {
  const penalty = sparsityPenalty(o);
  if (hasPenalty(penalty)) proximalSteps(model, penalty);
}

/** The penalty and the exact zeros it left, for reports (nothing without a penalty). */
export function penaltyReport(
  penalty: SparsityPenalty,
  weights: ReadonlyMap<string, Float32Array>,
  penalised: readonly string[],
): Record<string, unknown> {
  if (!hasPenalty(penalty)) return {};
  const z = countZeros(weights, penalised);
  return {
    penalty: { l1: penalty.l1 ?? 0, groupLasso: penalty.groupLasso ?? 0, slimming: penalty.slimming ?? 0 },
    penalisedValues: z.total,
    penalisedZeros: z.zeros,
  };
}

/** `earlyStopping` of train() from --patience (nothing without it). */
export function earlyStopping(o: { patience?: number | undefined }): { earlyStopping?: EarlyStoppingOptions } {
  return o.patience === undefined ? {} : { earlyStopping: { patience: o.patience } };
}

/** Train, validation (--val-size; none when the command has no hold-out) and test splits of --data. */
export function loadData(
  o: DataCliOptions & {
    seed?: number;
    valSize?: number;
    valSplit?: number | undefined;
    limit?: number | undefined;
    labels?: 'required' | 'optional';
    inputs?: Parameters<typeof loadTrainingData>[0]['inputs'];
  },
): Promise<PreparedData> {
  return loadTrainingData({
    ...(o.labels === undefined ? {} : { labels: o.labels }),
    ...(o.valSplit === undefined ? {} : { valSplit: o.valSplit }),
    ...(o.preprocess === undefined ? {} : { preprocessFile: o.preprocess }),
    ...(o.testFraction === undefined ? {} : { testFraction: o.testFraction }),
    ...(o.inputs === undefined ? {} : { inputs: o.inputs }),
    data: o.data,
    seed: o.seed ?? 0,
    valSize: o.valSize ?? 0,
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
    ...(o.limit === undefined ? {} : { limit: o.limit }),
    ...(o.testLimit === undefined ? {} : { testLimit: o.testLimit }),
  });
}

/**
 * Reads an ONNX model file, its external data by ranges through the
 * regular-file checks (node/open.ts); E_ARG when one of `outputs` is one of
 * the model's files (the model or an external data file).
 */
export function readModel(path: string, outputs: readonly string[] = []): ModelProto {
  const proto = readOnnxFile(path).proto;
  checkOutputs(outputs, onnxModelFiles(path, proto));
  return proto;
}

/**
 * Before any work: E_ARG when the output is a directory or would overwrite
 * an input, E_NOT_FOUND when its folder is missing (node/output.ts).
 */
export function checkOutput(output: string, ...inputs: string[]): void {
  checkOutputs([output], inputs);
}

/** A progress bar with loss and accuracy on stderr, only when stderr is a TTY; per-epoch lines otherwise go nowhere. */
export function trainingProgress(io: CliIO): { onProgress: (e: TrainProgress) => void; stop: () => void } {
  if (!io.isTTY) return { onProgress: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (e: TrainProgress): void => {
    if (e.kind === 'step') {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: `epoch ${e.epoch}/${e.epochs} [{bar}] {value}/{total} loss {loss} acc {acc}`,
            stream: process.stderr,
            clearOnComplete: true,
            hideCursor: null,
            fps: 10,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.steps, 0, { loss: '-', acc: '-' });
      }
      bar.update(e.step, { loss: e.loss.toFixed(4), acc: pct(e.accuracy) });
    } else {
      stop();
      io.stderr(`${epochLine(e.record, e.epochs)}\n`);
    }
  };
  return { onProgress, stop };
}

export function epochLine(r: EpochRecord, epochs: number): string {
  const v = r.validation;
  const val = !v
    ? ''
    : v.snrDb !== undefined
      ? `  val mse ${v.loss.toExponential(3)} snr ${v.snrDb.toFixed(1)} dB`
      : `  val loss ${v.loss.toFixed(4)} acc ${pct(v.accuracy)}`;
  return `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}${val}  ${r.seconds.toFixed(1)} s`;
}

/** The per-epoch lines on stdout when there was no progress bar to show them (stdout not a terminal). */
export function printEpochs(io: CliIO, history: readonly EpochRecord[], epochs: number): void {
  if (!io.isTTY) for (const r of history) io.stdout(`${epochLine(r, epochs)}\n`);
}

export function epochJson(r: EpochRecord): Record<string, unknown> {
  return {
    epoch: r.epoch,
    trainLoss: r.trainLoss,
    trainAccuracy: r.trainAccuracy ?? null,
    validationLoss: r.validation?.loss ?? null,
    validationAccuracy: r.validation?.snrDb !== undefined ? null : (r.validation?.accuracy ?? null),
    ...(r.validation?.snrDb !== undefined ? { validationSnrDb: r.validation.snrDb } : {}),
    seconds: r.seconds,
    evalSeconds: r.evalSeconds,
  };
}

/** Serializes the trained model and writes it atomically. */
export function writeTrainedModel(model: ModelProto, path: string): number {
  const bytes = writeOnnx(model, { file: path });
  writeFileAtomic(path, bytes);
  return bytes.byteLength;
}

/** The head of the JSON report of a command that read one model and wrote another (schema modelpress.<command>/1). */
export function modelReportHead(command: string, input: string, output: string, outputBytes: number) {
  return { schema: `modelpress.${command}/1`, command, input, inputBytes: fileSize(input), output, outputBytes };
}

export function meanSecondsPerEpoch(result: TrainResult): number {
  return result.history.reduce((a, r) => a + r.seconds, 0) / result.history.length;
}

/** What train and finetune parse: the data and training groups, -o and --json. */
export interface TrainCommandOptions extends DataCliOptions, TrainingCliOptions, SparsityFlags {
  output: string;
  json?: boolean;
}

/** Runs training from the parsed options and reports; shared by train and finetune. */
export async function runTraining(
  io: CliIO,
  opts: TrainCommandOptions,
  run: {
    model: ModelProto;
    data: PreparedData;
    report: Record<string, unknown>;
    adamLr?: number;
    file?: string;
    masks?: ReadonlyMap<string, Uint8Array>;
    /** The loss and its per-batch feeds (label-free distillation); default cross-entropy on the labels. */
    kd?: { loss?: LossSpec; batchFeeds?: BatchFeeds };
    /**
     * The model the result is measured against (output SNR, cosine, accuracy
     * drop on the test split), and the guard flags; before anything is written.
     */
    guard?: { reference: ModelProto; flags: FidelityFlags; name: string; dataName: string; before?: ModelProto };
  },
): Promise<void> {
  const { model, data, report, file, masks } = run;
  const penalty = sparsityPenalty(opts);
  const base = trainingRun(opts, data, opts.epochs, () => {}, run.adamLr);
  const { optimizer, penalised } = penalisedOptimizer(base.optimizer, model, penalty);
  const progress = trainingProgress(io);
  let result: TrainResult;
  try {
    result = await train({
      ...base,
      onProgress: progress.onProgress,
      optimizer,
      model,
      ...earlyStopping(opts),
      ...(masks ? { masks } : {}),
      ...(run.kd ?? {}),
      ...(file === undefined ? {} : { file }),
    });
  } finally {
    progress.stop();
  }
  const test = data.test.y !== undefined ? await evaluateModel(createNodeRunner, result.model, data.test) : undefined;
  const guard = run.guard;
  const fidelity = guard
    ? await measureFidelity(guard.reference, result.model, data, {
        dataName: guard.dataName,
        ...(guard.before ? { beforeTraining: guard.before } : {}),
      })
    : undefined;
  if (guard && fidelity) enforceFidelity(io, fidelity, guard.flags, file ?? guard.name);
  const bytes = writeTrainedModel(result.model, opts.output);
  const summary = {
    schema: `modelpress.${String(report.command)}/1`,
    ...report,
    data: opts.data,
    seed: opts.seed,
    optimizer: opts.optimizer,
    lr: learningRate(opts, run.adamLr),
    lrSchedule: opts.lrSchedule,
    batchSize: opts.batchSize,
    trainExamples: sampleCount(data.train),
    validationExamples: data.validation ? sampleCount(data.validation) : 0,
    ...penaltyReport(penalty, result.weights, penalised),
    epochs: result.history.map(epochJson),
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    testAccuracy: test?.accuracy ?? null,
    testLoss: test?.loss ?? null,
    ...(fidelity ? { fidelityAgainst: guard!.name, fidelity: fidelityJson(fidelity) } : {}),
    secondsPerEpoch: meanSecondsPerEpoch(result),
    output: opts.output,
    outputBytes: bytes,
  };
  if (opts.json) {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    printEpochs(io, result.history, opts.epochs);
    const acc = test ? `; test accuracy ${pct(test.accuracy)} (loss ${test.loss.toFixed(4)}) on ${test.count} examples` : '';
    io.stdout(
      `best epoch ${result.bestEpoch}${result.stoppedEarly ? ' (stopped early)' : ''}${acc}; ${meanSecondsPerEpoch(result).toFixed(2)} s/epoch\n`,
    );
    if (fidelity) io.stdout(`against ${guard!.name}: ${fidelityLines(fidelity)}`);
    const pz = penaltyReport(penalty, result.weights, penalised);
    if (pz.penalisedValues !== undefined)
      io.stdout(
        `penalty: ${pct(Number(pz.penalisedZeros) / Number(pz.penalisedValues))} of the penalised values are exactly zero (${pz.penalisedZeros} of ${pz.penalisedValues})\n`,
      );
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  }
}

/**
 * Runs `reference` over `data` once and returns a measure of any model
 * against it: output SNR (dB) and cosine of the first output, all values pooled.
 */
export async function outputFidelity(
  reference: ModelProto,
  data: Dataset,
): Promise<(model: ModelProto) => Promise<{ snrDb: number; cosine: number }>> {
  const unlabelled = { ...data, y: undefined };
  const ref = await datasetLogits(createNodeRunner, reference, unlabelled);
  return async (model) => {
    const out = await datasetLogits(createNodeRunner, model, unlabelled);
    const acc = new FidelityAccumulator('output', 0);
    acc.add(ref.logits, out.logits);
    const s = acc.result();
    return { snrDb: s.snrDb, cosine: s.cosine };
  };
}

/** `--kd-temperature`: how commands distil from the original when the data has no labels. */
export interface KdFlags {
  kdTemperature?: number;
}

/** The --kd-temperature option of the label-free loss. */
export function kdTemperatureOption(): Option {
  return option(
    '--kd-temperature <T>',
    'data without labels: distil from the original by the KL divergence of its temperature-T softmax (outputs that are logits [N, classes]) instead of the default MSE against its outputs (any output)',
    { parse: number({ above: 0 }) },
  );
}

/** What the label-free loss is, for reports: 'mse' or 'kl:T'; null with labels. */
export function labelFreeLossName(data: PreparedData | undefined, o: KdFlags): string | null {
  if (!data || data.train.y !== undefined) return null;
  return o.kdTemperature === undefined ? 'mse' : `kl:${o.kdTemperature}`;
}

/**
 * Label-free distillation from `teacher` for data without labels: MSE
 * against its outputs (any output shape), or with `temperature` the KL
 * divergence of the temperature-softened softmaxes (logits [N, classes]);
 * nothing for labelled data (the command's own loss on the labels).
 */
export async function labelFreeDistillation(
  teacher: ModelProto,
  data: PreparedData,
  o: KdFlags = {},
): Promise<{ loss?: LossSpec; batchFeeds?: BatchFeeds; validation?: Dataset }> {
  if (data.train.y !== undefined) return {};
  const outputs = await datasetLogits(createNodeRunner, teacher, data.train);
  // The validation hold-out carries the teacher's outputs, so train() ranks epochs by output SNR against them.
  const held = data.validation ? await datasetLogits(createNodeRunner, teacher, data.validation) : undefined;
  const validation =
    data.validation && held
      ? {
          validation: {
            ...data.validation,
            targets: {
              '': makeTensor(
                'float32',
                [sampleCount(data.validation), held.classes],
                new Uint8Array(held.logits.buffer, held.logits.byteOffset, held.logits.byteLength),
              ),
            },
          },
        }
      : {};
  if (o.kdTemperature !== undefined) {
    if (outputs.outputShape.length !== 1)
      throw new ModelpressError(
        'E_ARG',
        `--kd-temperature needs logits [N, classes]; the model's output is [N, ${outputs.outputShape.join(', ')}] (drop it for MSE)`,
      );
    return {
      loss: { kind: 'distillation', temperature: o.kdTemperature, alpha: 1, teacherLogits: 'teacher_logits' },
      batchFeeds: teacherFeeds(outputs, 'teacher_logits'),
      ...validation,
    };
  }
  return { loss: { kind: 'mse', target: 'teacher_outputs' }, batchFeeds: teacherFeeds(outputs, 'teacher_outputs'), ...validation };
}
