/**
 * `modelpress finetune <model.onnx> --data <dataset> --epochs N -o out.onnx`:
 * continues training a model made elsewhere (a PyTorch export, a pruned model)
 * and writes it back with the same graph and new weights.
 */
import { modelInputs } from '../data.js';
import type { Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ONNX_TYPE } from '../../core/dtypes.js';
import { toFloat32 } from '../../core/tensor.js';
import { tensorFromProto } from '../../formats/onnx/tensor-proto.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { evaluateModel } from '../../train/trainer.js';
import type { CliIO } from '../io.js';
import { addDataOptions, addOptions, addOutputOptions, addTrainingOptions, option } from '../options.js';
import {
  checkOutput,
  checkSparsityFlags,
  sparsityOptions,
  kdTemperatureOption,
  labelFreeDistillation,
  labelFreeLossName,
  loadData,
  pct,
  readModel,
  runTraining,
  type KdFlags,
  type TrainCommandOptions,
} from '../training.js';
import { addFidelityOptions, checkFidelityFlags, type FidelityFlags } from '../fidelity.js';
import { ModelpressError } from '../../core/errors.js';

/** Masks (0 = hold at zero) for every float32 initializer that has exact zeros. */
function zeroMasks(model: ModelProto): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (const tp of model.graph?.initializer ?? []) {
    if (tp.dataType !== ONNX_TYPE.float32) continue;
    const v = toFloat32(tensorFromProto(tp));
    if (!v.includes(0)) continue;
    masks.set(
      tp.name,
      Uint8Array.from(v, (x) => (x === 0 ? 0 : 1)),
    );
  }
  return masks;
}

const FINETUNE_LR = 1e-4;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('finetune')
    .description('continue training an ONNX classifier on an image dataset; same graph, new weights')
    .argument('<model>', 'ONNX model: one float input taking the images, logits [N, classes] as first output');
  addOptions(
    cmd,
    option('--keep-zeros', 'hold every weight that is exactly zero at zero (a pruned model stays pruned)'),
    option(
      '--teacher <model>',
      'distil from this model instead of training on labels (needed when --data has no labels; e.g. the original of a pruned model, with --keep-zeros); fidelity is measured against it',
    ),
    kdTemperatureOption(),
  );
  addDataOptions(cmd, { what: 'training and test data', default: 'fashion-mnist' });
  addOptions(cmd, ...sparsityOptions());
  addTrainingOptions(cmd, {
    epochs: 1,
    lr: '1e-4 for adam/adamw, 0.01 for sgd',
    lrSchedule: 'constant',
    seeds: 'the hold-out split and shuffling',
  });
  addFidelityOptions(cmd, { labels: true });
  addOutputOptions(cmd, {
    output: 'where to write the trained ONNX model',
    json: 'print a JSON report on stdout (schema modelpress.finetune/1, docs/CLI.md)',
  });
  cmd.action(async (modelPath: string, opts: TrainCommandOptions & FidelityFlags & KdFlags & { keepZeros?: boolean; teacher?: string }) => {
    checkOutput(opts.output, modelPath, opts.data, ...(opts.teacher === undefined ? [] : [opts.teacher]));
    const model = readModel(modelPath, [opts.output]);
    const teacher = opts.teacher === undefined ? undefined : readModel(opts.teacher, [opts.output]);
    checkSparsityFlags(model, opts);
    const data = await loadData({ ...opts, labels: teacher ? 'optional' : 'required', inputs: modelInputs(model) });
    checkFidelityFlags(opts, data, opts.data);
    const labelled = data.train.y !== undefined;
    if (opts.kdTemperature !== undefined && !teacher) throw new ModelpressError('E_ARG', '--kd-temperature needs --teacher');
    // With a teacher: distil from it (MSE against its outputs, or KL at --kd-temperature), labels or not.
    const kd = teacher ? await labelFreeDistillation(teacher, { ...data, train: { ...data.train, y: undefined } }, opts) : undefined;
    const before = labelled ? await evaluateModel(createNodeRunner, model, data.test, { file: modelPath }) : undefined;
    if (!opts.json && before)
      io.stdout(`before: test accuracy ${pct(before.accuracy)} (loss ${before.loss.toFixed(4)}) on ${before.count} examples\n`);
    const masks = opts.keepZeros ? zeroMasks(model) : undefined;
    const heldZeros = masks ? { heldZeros: [...masks.values()].reduce((a, m) => a + m.length - m.reduce((x, y) => x + y, 0), 0) } : {};
    const report = {
      command: 'finetune',
      input: modelPath,
      teacher: opts.teacher ?? null,
      labelFreeLoss: teacher ? labelFreeLossName({ ...data, train: { ...data.train, y: undefined } }, opts) : null,
      testAccuracyBefore: before?.accuracy ?? null,
      testLossBefore: before?.loss ?? null,
      ...heldZeros,
    };
    await runTraining(io, opts, {
      model,
      data,
      report,
      adamLr: FINETUNE_LR,
      file: modelPath,
      ...(masks ? { masks } : {}),
      ...(kd ? { kd } : {}),
      guard: {
        reference: teacher ?? model,
        name: teacher ? `the teacher ${opts.teacher}` : `the input ${modelPath}`,
        dataName: opts.data,
        flags: opts,
        ...(teacher ? { before: model } : {}),
      },
    });
  });
}
