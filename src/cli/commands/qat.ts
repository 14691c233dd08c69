/**
 * `modelpress qat <in> -o <out> --scheme int8|int4 --data <name> --epochs N [--json]`:
 * quantization-aware training, exported as a model onnxruntime runs (int8:
 * static QDQ with the learned activation ranges; int4: int4 blocks /
 * MatMulNBits). With --compare-ptq it also measures post-training
 * quantization of the input model with the same scheme. --val-size training
 * examples are held out: each epoch is validated fake-quantized, and the best
 * epoch's weights and activation ranges are exported.
 */
import { modelInputs } from '../data.js';
import type { Command } from 'commander';
import { ptqBaseline, quantizationAwareTraining } from '../../compress/qat.js';
import { QAT_SCHEMES, type QatScheme } from '../../compress/weight-fake-quant.js';
import { fileSize } from '../../node/fs.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { evaluateModel } from '../../train/trainer.js';
import { sampleCount } from '../../data/dataset.js';
import type { CliIO } from '../io.js';
import {
  addDataOptions,
  addOptions,
  addOutputOptions,
  addTrainingOptions,
  blockSizeOption,
  calibSizeOption,
  fraction,
  oneOf,
  option,
  type DataCliOptions,
  type TrainingCliOptions,
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
  kdTemperatureOption,
  labelFreeDistillation,
  labelFreeLossName,
  type KdFlags,
  checkOutput,
  earlyStopping,
  epochJson,
  learningRate,
  loadData,
  modelReportHead,
  pct,
  printEpochs,
  readModel,
  trainingProgress,
  trainingRun,
  writeTrainedModel,
} from '../training.js';

interface QatCliOptions extends DataCliOptions, TrainingCliOptions, FidelityFlags, KdFlags {
  output: string;
  scheme: QatScheme;
  blockSize: number;
  emaDecay: number;
  calibSize: number;
  comparePtq?: boolean;
  firstLast8bit?: boolean;
  json?: boolean;
}

/** QAT starts from a trained model: a small learning rate. */
const QAT_LR = 1e-4;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('qat')
    .description(
      'quantization-aware training (fake-quantized weights per channel/block, int8 activations with EMA ranges, straight-through estimator), exported as a quantized ONNX model',
    )
    .argument('<model>', 'trained float ONNX classifier');
  addOptions(
    cmd,
    option(
      '--scheme <scheme>',
      'int8: static QDQ (weights per channel, activations per tensor); int4: weight-only int4 blocks / MatMulNBits; binary: BWN sign x mean|w| per channel (1 bit); ternary: TWN {-1,0,1} x scale per channel (1.6 bits); ternary-absmean: BitNet b1.58 round(w / mean|w|); ttq: {-w_n,0,w_p} with the two scales per channel learned (Trained Ternary Quantization); binary/ternary schemes are weight-only, every Conv/Gemm/MatMul weight',
      {
        parse: oneOf(QAT_SCHEMES),
        choices: QAT_SCHEMES,
        required: true,
      },
    ),
    blockSizeOption({ default: 32 }),
    option('--ema-decay <d>', 'decay of the activation-range moving averages', { parse: fraction({ below1: true }), default: 0.99 }),
    calibSizeOption(512, 'training examples (the first n) calibrating the PTQ baseline of --compare-ptq (int8)'),
    option('--first-last-8bit', 'binary/ternary: keep the first and last weight layers at 8 bits (int8 weight-only, per channel)'),
    option('--compare-ptq', 'also quantize the input without training (same scheme) and report both accuracies'),
    kdTemperatureOption(),
  );
  addDataOptions(cmd, { what: 'training and test data', required: true });
  addTrainingOptions(cmd, {
    epochs: 1,
    lr: '1e-4 for adam/adamw, 0.01 for sgd',
    lrSchedule: 'constant',
    what: 'QAT',
    seeds: 'the hold-out split and shuffling',
  });
  addFidelityOptions(cmd, { labels: true });
  addOutputOptions(cmd, {
    output: 'where to write the quantized model (must differ from the input)',
    json: 'print a JSON report on stdout (schema modelpress.qat/1, docs/CLI.md)',
  });
  cmd.action(async (input: string, opts: QatCliOptions) => {
    checkOutput(opts.output, input, opts.data);
    const model = readModel(input, [opts.output]);
    // Data without labels: QAT distils from the float model (MSE against its outputs, or KL with --kd-temperature).
    const data = await loadData({ ...opts, labels: 'optional', inputs: modelInputs(model) });
    const labelled = data.train.y !== undefined;
    checkFidelityFlags(opts, data, opts.data);
    const before = labelled ? await evaluateModel(createNodeRunner, model, data.test, { file: input }) : undefined;
    // PTQ with the same scheme, without training: the "before training" figure (and --compare-ptq's accuracy).
    const ptqModel = await ptqBaseline(model, opts.scheme, data.train, {
      openRunner: createNodeRunner,
      blockSize: opts.blockSize,
      calibSize: opts.calibSize,
      ...(opts.firstLast8bit ? { keepEnds8Bit: true } : {}),
      file: input,
    });
    const ptq = opts.comparePtq && labelled ? await evaluateModel(createNodeRunner, ptqModel, data.test) : undefined;
    const kd = await labelFreeDistillation(model, data, opts);
    const progress = trainingProgress(io);
    let r: Awaited<ReturnType<typeof quantizationAwareTraining>>;
    try {
      r = await quantizationAwareTraining({
        ...trainingRun(opts, data, opts.epochs, progress.onProgress, QAT_LR),
        model,
        ...kd,
        ...earlyStopping(opts),
        scheme: opts.scheme,
        emaDecay: opts.emaDecay,
        blockSize: opts.blockSize,
        ...(opts.firstLast8bit ? { keepEnds8Bit: true } : {}),
        file: input,
      });
    } finally {
      progress.stop();
    }
    const fidelity = await measureFidelity(model, r.model, data, {
      dataName: opts.data,
      beforeTraining: ptqModel,
      ...(before ? { accuracyOriginal: before.accuracy } : {}),
      file: input,
    });
    enforceFidelity(io, fidelity, opts, input);
    const bytes = writeTrainedModel(r.model, opts.output);
    // the weights the export quantized: how many, and the bytes now holding them (codes, scales, zero points, decoder constants)
    const done = r.exportReport.tensors.filter((t) => t.action !== 'skipped');
    const weights = done.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    const payloadBytes = done.reduce((a, t) => a + t.bytesAfter, 0);
    const payload = { weights, bytes: payloadBytes, bitsPerWeight: weights ? (payloadBytes * 8) / weights : 0 };
    const report = {
      ...modelReportHead('qat', input, opts.output, bytes),
      scheme: opts.scheme,
      data: opts.data,
      seed: opts.seed,
      lr: learningRate(opts, QAT_LR),
      batchSize: opts.batchSize,
      emaDecay: opts.emaDecay,
      firstLast8bit: opts.firstLast8bit === true,
      trainExamples: sampleCount(data.train),
      validationExamples: data.validation ? sampleCount(data.validation) : 0,
      testExamples: sampleCount(data.test),
      epochs: r.history.map(epochJson),
      bestEpoch: r.bestEpoch,
      stoppedEarly: r.stoppedEarly,
      validationAccuracy: r.history[r.bestEpoch - 1]?.validation?.accuracy ?? null,
      fakeQuantized: r.fakeQuantized,
      activations: r.activations,
      testAccuracyFloat: before?.accuracy ?? null,
      testAccuracyPtq: ptq?.accuracy ?? null,
      testAccuracyQat: fidelity.accuracyResult ?? null,
      notes: r.exportReport.notes,
      weightPayload: payload,
      labels: labelled,
      labelFreeLoss: labelFreeLossName(data, opts),
      fidelity: fidelityJson(fidelity),
    };
    if (opts.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    printEpochs(io, r.history, opts.epochs);
    const best = r.history[r.bestEpoch - 1]?.validation;
    if (best)
      io.stdout(
        `best epoch ${r.bestEpoch}${r.stoppedEarly ? ' (stopped early)' : ''}: validation accuracy ${pct(best.accuracy)} (fake-quantized, ${best.count} examples)\n`,
      );
    if (before)
      io.stdout(
        `test accuracy: float ${pct(before.accuracy)}${ptq ? `, PTQ ${opts.scheme} ${pct(ptq.accuracy)}` : ''}, QAT ${opts.scheme} ${pct(fidelity.accuracyResult)} (${sampleCount(data.test)} examples)\n`,
      );
    io.stdout(fidelityLines(fidelity, `PTQ ${opts.scheme} without training`));
    io.stdout(
      `quantized weights: ${payload.weights} in ${payload.bytes} bytes (${payload.bitsPerWeight.toFixed(3)} bits per weight, scales included)\n`,
    );
    io.stdout(`wrote ${opts.output} (${bytes} bytes, input ${fileSize(input)} bytes)\n`);
  });
}
