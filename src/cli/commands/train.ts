/**
 * `modelpress train --arch <zoo name> --data fashion-mnist --epochs N -o model.onnx`:
 * builds a zoo network, trains it from scratch with the ONNX training engine
 * on onnxruntime-node, reports per-epoch loss/accuracy and the test accuracy,
 * and writes the trained model. Shared option handling for `finetune` lives
 * here too.
 */
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { writeFileAtomic } from '../../node/fs.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { OPTIMIZER_NAMES, type OptimizerName, type OptimizerSpec } from '../../train/optim/index.js';
import { parseLrSchedule } from '../../train/schedules.js';
import { evaluateModel, train, type EpochRecord, type TrainProgress, type TrainResult } from '../../train/trainer.js';
import { ZOO_NAMES, buildZooModel } from '../../train/zoo/index.js';
import { DATASETS, loadTrainingData, type PreparedData } from '../data.js';
import type { CliIO } from '../io.js';
import { sampleCount } from '../../data/dataset.js';

/** Options train and finetune share. */
export interface TrainingCliOptions {
  data: string;
  dataDir?: string;
  epochs: number;
  output: string;
  lr?: number;
  batchSize: number;
  optimizer: OptimizerName;
  weightDecay?: number;
  momentum?: number;
  lrSchedule: string;
  maxGradNorm?: number;
  seed: number;
  valSize: number;
  patience?: number;
  limit?: number;
  json?: boolean;
}

function intOption(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ModelpressError('E_ARG', `${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function floatOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ModelpressError('E_ARG', `${name} must be a number >= 0, got '${v}'`);
    return n;
  };
}

/** Adds the shared training options to a command. */
export function addTrainingOptions(cmd: Command, defaults: { epochs: number; lr?: string; lrSchedule: string }): Command {
  return cmd
    .option('--data <spec>', `dataset: ${DATASETS.join(', ')}, or a .npz file with arrays x (samples) and y (labels), split 80/20 by --seed`, 'fashion-mnist')
    .option('--data-dir <dir>', 'folder with the four IDX files (default: the system copy under /usr/share/datasets)')
    .option('--epochs <n>', 'passes over the training data', intOption('--epochs', 1), defaults.epochs)
    .requiredOption('-o, --output <file>', 'where to write the trained ONNX model')
    .option('--lr <rate>', `learning rate (default ${defaults.lr ?? '1e-3 for adam/adamw, 0.01 for sgd'})`, floatOption('--lr'))
    .option('--batch-size <n>', 'examples per step', intOption('--batch-size', 1), 64)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices([...OPTIMIZER_NAMES]).default('adam'))
    .option('--weight-decay <wd>', 'weight decay (L2 for sgd/adam, decoupled for adamw; default 0, adamw 0.01)', floatOption('--weight-decay'))
    .option('--momentum <m>', 'SGD momentum (default 0.9)', floatOption('--momentum'))
    .option('--lr-schedule <spec>', 'constant | cosine | step:<epochs>[:<gamma>], optionally prefixed warmup:<epochs>+', defaults.lrSchedule)
    .option('--max-grad-norm <n>', 'clip gradients to this global L2 norm', floatOption('--max-grad-norm'))
    .option('--seed <n>', 'seed of initialization, hold-out split and shuffling', intOption('--seed', 0), 0)
    .option('--val-size <n>', 'training examples held out to pick the best epoch (0: none, keep the last epoch)', intOption('--val-size', 0), 5000)
    .option('--patience <n>', 'stop after this many epochs without validation gain', intOption('--patience', 1))
    .option('--limit <n>', 'train on only the first n training examples (quick runs)', intOption('--limit', 1))
    .option('--json', 'print a JSON report on stdout');
}

export function optimizerSpec(opts: TrainingCliOptions, trainCount: number): OptimizerSpec {
  const stepsPerEpoch = Math.ceil(trainCount / opts.batchSize);
  return {
    name: opts.optimizer,
    ...(opts.lr === undefined ? {} : { lr: opts.lr }),
    ...(opts.weightDecay === undefined ? {} : { weightDecay: opts.weightDecay }),
    ...(opts.momentum === undefined ? {} : { momentum: opts.momentum }),
    ...(opts.maxGradNorm === undefined ? {} : { maxGradNorm: opts.maxGradNorm }),
    schedule: parseLrSchedule(opts.lrSchedule, stepsPerEpoch, opts.epochs),
  };
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
          { format: `epoch ${e.epoch}/${e.epochs} [{bar}] {value}/{total} loss {loss} acc {acc}`, stream: process.stderr, clearOnComplete: true, hideCursor: null, fps: 10 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.steps, 0, { loss: '-', acc: '-' });
      }
      bar.update(e.step, { loss: e.loss.toFixed(4), acc: e.accuracy === undefined ? '-' : `${(e.accuracy * 100).toFixed(2)}%` });
    } else {
      stop();
      io.stderr(`${epochLine(e.record, e.epochs)}\n`);
    }
  };
  return { onProgress, stop };
}

export function epochLine(r: EpochRecord, epochs: number): string {
  const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
  const val = r.validation ? `  val loss ${r.validation.loss.toFixed(4)} acc ${pct(r.validation.accuracy)}` : '';
  return `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}${val}  ${r.seconds.toFixed(1)} s`;
}

export function epochJson(r: EpochRecord): Record<string, unknown> {
  return {
    epoch: r.epoch,
    trainLoss: r.trainLoss,
    trainAccuracy: r.trainAccuracy ?? null,
    validationLoss: r.validation?.loss ?? null,
    validationAccuracy: r.validation?.accuracy ?? null,
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

export function meanSecondsPerEpoch(result: TrainResult): number {
  return result.history.reduce((a, r) => a + r.seconds, 0) / result.history.length;
}

/** Runs training from the parsed options and reports; shared by train and finetune. */
export async function runTraining(io: CliIO, opts: TrainingCliOptions, model: ModelProto, data: PreparedData, report: Record<string, unknown>, file?: string, masks?: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const progress = trainingProgress(io);
  let result: TrainResult;
  try {
    result = await train({
      openRunner: createNodeRunner,
      model,
      train: data.train,
      ...(data.validation ? { validation: data.validation } : {}),
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      seed: opts.seed,
      optimizer: optimizerSpec(opts, sampleCount(data.train)),
      ...(opts.patience === undefined ? {} : { earlyStopping: { patience: opts.patience } }),
      onProgress: progress.onProgress,
      ...(masks ? { masks } : {}),
      ...(file === undefined ? {} : { file }),
    });
  } finally {
    progress.stop();
  }
  const test = await evaluateModel(createNodeRunner, result.model, data.test);
  const bytes = writeTrainedModel(result.model, opts.output);
  const summary = {
    schema: `modelpress.${String(report['command'])}/1`,
    ...report,
    data: opts.data,
    seed: opts.seed,
    optimizer: opts.optimizer,
    lr: opts.lr ?? (opts.optimizer === 'sgd' ? 0.01 : 1e-3),
    lrSchedule: opts.lrSchedule,
    batchSize: opts.batchSize,
    trainExamples: sampleCount(data.train),
    validationExamples: data.validation ? sampleCount(data.validation) : 0,
    epochs: result.history.map(epochJson),
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    secondsPerEpoch: meanSecondsPerEpoch(result),
    output: opts.output,
    outputBytes: bytes,
  };
  if (opts.json) {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    if (!io.isTTY) for (const r of result.history) io.stdout(`${epochLine(r, opts.epochs)}\n`);
    io.stdout(`best epoch ${result.bestEpoch}${result.stoppedEarly ? ' (stopped early)' : ''}; test accuracy ${(test.accuracy * 100).toFixed(2)}% (loss ${test.loss.toFixed(4)}) on ${test.count} examples; ${meanSecondsPerEpoch(result).toFixed(2)} s/epoch\n`);
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  }
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('train')
    .description('train a model-zoo network from scratch on an image dataset and write it as ONNX')
    .addOption(new Option('--arch <name>', 'network from the model zoo').choices(ZOO_NAMES).makeOptionMandatory());
  addTrainingOptions(cmd, { epochs: 12, lrSchedule: 'cosine' }).action(async (opts: TrainingCliOptions & { arch: string }) => {
    const data = await loadTrainingData(opts);
    const model = buildZooModel(opts.arch, { seed: opts.seed });
    await runTraining(io, opts, model, data, { command: 'train', arch: opts.arch });
  });
}
