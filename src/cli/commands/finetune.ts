/**
 * `modelpress finetune <model.onnx> --data <dataset> --epochs N -o out.onnx`:
 * continues training a model made elsewhere (a PyTorch export, a pruned model)
 * and writes it back with the same graph and new weights.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ModelpressError } from '../../core/errors.js';
import { ONNX_TYPE } from '../../core/dtypes.js';
import type { ModelProto } from 'onnx-buf';
import { toFloat32 } from '../../core/tensor.js';
import { readOnnx } from '../../formats/onnx/read.js';
import { tensorFromProto } from '../../formats/onnx/tensor-proto.js';
import { readFileChecked } from '../../node/fs.js';
import { evaluateModel } from '../../train/trainer.js';
import type { CliIO } from '../io.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { loadTrainingData } from '../data.js';
import { addTrainingOptions, runTraining, type TrainingCliOptions } from './train.js';

/** Masks (0 = hold at zero) for every float32 initializer that has exact zeros. */
function zeroMasks(model: ModelProto): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (const tp of model.graph?.initializer ?? []) {
    if (tp.dataType !== ONNX_TYPE.float32) continue;
    const v = toFloat32(tensorFromProto(tp));
    if (!v.includes(0)) continue;
    masks.set(tp.name, Uint8Array.from(v, (x) => (x === 0 ? 0 : 1)));
  }
  return masks;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('finetune')
    .description('continue training an ONNX classifier on an image dataset; same graph, new weights')
    .argument('<model>', 'ONNX model: one float input taking the images, logits [N, classes] as first output');
  cmd.option('--keep-zeros', 'hold every weight that is exactly zero at zero (a pruned model stays pruned)');
  addTrainingOptions(cmd, { epochs: 1, lr: '1e-4 for adam/adamw, 0.01 for sgd', lrSchedule: 'constant' }).action(async (modelPath: string, opts: TrainingCliOptions & { keepZeros?: boolean }) => {
    if (resolve(modelPath) === resolve(opts.output)) throw new ModelpressError('E_ARG', '--output must differ from the input model', { file: opts.output });
    const bytes = readFileChecked(modelPath);
    const model = readOnnx(bytes, { file: modelPath, loadExternal: (loc) => readFileChecked(resolve(dirname(modelPath), loc)) }).proto;
    const data = await loadTrainingData(opts);
    if (opts.lr === undefined && opts.optimizer !== 'sgd') opts.lr = 1e-4;
    const before = await evaluateModel(createNodeRunner, model, data.test, { file: modelPath });
    if (!opts.json) io.stdout(`before: test accuracy ${(before.accuracy * 100).toFixed(2)}% (loss ${before.loss.toFixed(4)}) on ${before.count} examples\n`);
    const masks = opts.keepZeros ? zeroMasks(model) : undefined;
    await runTraining(io, opts, model, data, { command: 'finetune', input: modelPath, testAccuracyBefore: before.accuracy, testLossBefore: before.loss, ...(masks ? { heldZeros: [...masks.values()].reduce((a, m) => a + m.length - m.reduce((x, y) => x + y, 0), 0) } : {}) }, modelPath, masks);
  });
}
