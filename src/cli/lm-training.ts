/**
 * `modelpress train --arch byte-lm --data text.txt --steps N`: the zoo's
 * byte-level transformer (train/zoo/lm.ts) trained on a text's byte windows
 * with next-token cross-entropy (train/lm-trainer.ts). The held-out text is
 * the `.txt` spec's test split: the contiguous last 10% of the windows
 * (--test-fraction changes the share only when given; train's 0.2 default for
 * files without an official split does not apply). Progress (loss in bits per
 * byte) on stderr when it is a terminal; --json report schema modelpress.train/1.
 */
import cliProgress from 'cli-progress';
import { ModelpressError } from '../core/errors.js';
import { tokenIds } from '../data/tokens.js';
import { loadDataSpec } from '../node/datasets.js';
import { createNodeRunner } from '../node/ort-runner.js';
import { parseLrSchedule } from '../train/schedules.js';
import { bitsPerToken, trainLanguageModel, type LmProgress, type TokenWindows } from '../train/lm-trainer.js';
import { transformerLm, transformerLmParameters, type TransformerLmOptions } from '../train/zoo/lm.js';
import type { CliIO } from './io.js';
import { int, option } from './options.js';
import { writeTrainedModel } from './training.js';

/** The --arch name of the zoo language model. */
export const LM_ARCH = 'byte-lm';

/** Flags only the language model takes. */
export function lmOptions() {
  return [
    option('--steps <n>', `${LM_ARCH}: optimizer steps (Adam lr default 3e-3 there, warm-up then cosine)`, {
      parse: int({ min: 1 }),
      defaultText: '--epochs passes over the training windows',
    }),
    option('--context <n>', `${LM_ARCH}: window length in bytes (and rows of the position embedding)`, {
      parse: int({ min: 2 }),
      defaultText: '128',
    }),
    option('--d-model <n>', `${LM_ARCH}: width of the residual stream`, { parse: int({ min: 1 }), defaultText: '128' }),
    option('--layers <n>', `${LM_ARCH}: transformer blocks`, { parse: int({ min: 1 }), defaultText: '4' }),
    option('--heads <n>', `${LM_ARCH}: attention heads (must divide --d-model)`, { parse: int({ min: 1 }), defaultText: '4' }),
  ];
}

export interface LmCliOptions {
  data: string;
  output: string;
  json?: boolean;
  seed: number;
  epochs: number;
  steps?: number;
  lr?: number;
  lrSchedule: string;
  batchSize: number;
  optimizer: 'adam' | 'adamw' | 'sgd';
  weightDecay?: number;
  momentum?: number;
  maxGradNorm?: number;
  limit?: number;
  testLimit?: number;
  testFraction?: number;
  context?: number;
  dModel?: number;
  layers?: number;
  heads?: number;
}

/** Flags of `train` that mean nothing for the LM (E_ARG when given on the command line). */
const NOT_FOR_LM = ['valSize', 'valSplit', 'patience', 'l1', 'groupLasso', 'slimming', 'dataDir', 'preprocess'] as const;
/** Flags that mean nothing for the image classifiers. */
const ONLY_FOR_LM = ['steps', 'context', 'dModel', 'layers', 'heads'] as const;

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** E_ARG when a flag of the other kind of model was given (`given(key)`: the user set it). */
export function checkArchFlags(arch: string, given: (key: string) => boolean): void {
  const lm = arch === LM_ARCH;
  const wrong = (lm ? NOT_FOR_LM : ONLY_FOR_LM).filter(given);
  if (wrong.length)
    throw new ModelpressError(
      'E_ARG',
      lm
        ? `${wrong.map(flagName).join(', ')} ${wrong.length > 1 ? 'do' : 'does'} not apply to --arch ${LM_ARCH}`
        : `${wrong.map(flagName).join(', ')} only ${wrong.length > 1 ? 'apply' : 'applies'} to --arch ${LM_ARCH}`,
    );
}

async function windows(spec: string, context: number, testFraction: number | undefined, limit: number | undefined): Promise<TokenWindows> {
  const ds = await loadDataSpec(spec, {
    context,
    ...(testFraction === undefined ? {} : { testFraction }),
    ...(limit === undefined ? {} : { limit }),
  });
  return { ids: tokenIds(ds.x, 256, spec), count: ds.x.shape[0]!, length: ds.x.shape[1]! };
}

/** Runs `train --arch byte-lm`; `testFractionGiven`: --test-fraction was on the command line. */
export async function runLmTraining(io: CliIO, opts: LmCliOptions, testFractionGiven: boolean): Promise<void> {
  if (!opts.data.toLowerCase().endsWith('.txt'))
    throw new ModelpressError('E_ARG', `--arch ${LM_ARCH} trains on a text file: --data must be a .txt file, got '${opts.data}'`);
  const shape: TransformerLmOptions = {
    seed: opts.seed,
    context: opts.context ?? 128,
    ...(opts.dModel === undefined ? {} : { dModel: opts.dModel }),
    ...(opts.layers === undefined ? {} : { layers: opts.layers }),
    ...(opts.heads === undefined ? {} : { heads: opts.heads }),
  };
  const model = transformerLm(shape);
  const context = shape.context!;
  const fraction = testFractionGiven ? opts.testFraction : undefined;
  const train = await windows(`${opts.data}:train`, context, fraction, opts.limit);
  const heldOut = await windows(`${opts.data}:test`, context, fraction, opts.testLimit);
  const stepsPerEpoch = Math.ceil(train.count / opts.batchSize);
  const steps = opts.steps ?? opts.epochs * stepsPerEpoch;
  const lr = opts.lr ?? (opts.optimizer === 'sgd' ? 0.01 : 3e-3);
  const schedule = opts.lrSchedule.trim() === 'cosine' ? undefined : parseLrSchedule(opts.lrSchedule, stepsPerEpoch, steps / stepsPerEpoch);
  const progress = lmProgress(io);
  let result: Awaited<ReturnType<typeof trainLanguageModel>>;
  try {
    result = await trainLanguageModel({
      openRunner: createNodeRunner,
      model,
      train,
      heldOut,
      steps,
      batchSize: opts.batchSize,
      lr,
      ...(opts.maxGradNorm === undefined ? {} : { maxGradNorm: opts.maxGradNorm }),
      optimizer: {
        name: opts.optimizer,
        ...(opts.weightDecay === undefined ? {} : { weightDecay: opts.weightDecay }),
        ...(opts.momentum === undefined ? {} : { momentum: opts.momentum }),
      },
      ...(schedule ? { schedule } : {}),
      seed: opts.seed,
      onProgress: progress.onProgress,
      file: opts.data,
    });
  } finally {
    progress.stop();
  }
  const bytes = writeTrainedModel(result.model, opts.output);
  const tail = result.losses.slice(-Math.min(50, result.losses.length));
  const trainBits = bitsPerToken(tail.reduce((a, b) => a + b, 0) / tail.length);
  const heldOutBits = bitsPerToken(result.heldOutLoss!);
  if (opts.json) {
    const summary = {
      schema: 'modelpress.train/1',
      command: 'train',
      arch: LM_ARCH,
      config: { ...shape, parameters: transformerLmParameters(shape) },
      data: opts.data,
      seed: opts.seed,
      optimizer: opts.optimizer,
      lr,
      lrSchedule: opts.lrSchedule,
      batchSize: opts.batchSize,
      steps,
      trainWindows: train.count,
      heldOutWindows: heldOut.count,
      firstLossBitsPerByte: bitsPerToken(result.losses[0]!),
      trainBitsPerByte: trainBits,
      heldOutBitsPerByte: heldOutBits,
      heldOutLoss: result.heldOutLoss,
      seconds: result.seconds,
      output: opts.output,
      outputBytes: bytes,
    };
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    io.stdout(
      `${steps} steps in ${result.seconds.toFixed(1)} s: train ${trainBits.toFixed(3)} bits/byte (last ${tail.length} steps), ` +
        `held-out ${heldOutBits.toFixed(3)} bits/byte on ${heldOut.count} windows of ${context} bytes\n`,
    );
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  }
}

function lmProgress(io: CliIO): { onProgress: (e: LmProgress) => void; stop: () => void } {
  if (!io.isTTY) return { onProgress: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (e: LmProgress): void => {
    if (e.kind === 'step') {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: 'step [{bar}] {value}/{total} loss {bits} bits/byte',
            stream: process.stderr,
            clearOnComplete: true,
            hideCursor: null,
            fps: 10,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.steps, 0, { bits: '-' });
      }
      bar.update(e.step, { bits: bitsPerToken(e.loss).toFixed(3) });
    } else {
      stop();
      io.stderr(`held-out ${bitsPerToken(e.heldOut).toFixed(3)} bits/byte at step ${e.step}\n`);
    }
  };
  return { onProgress, stop };
}
