/**
 * Small student networks for distillation, beside the zoo: `mlp-<h1>[-<h2>...]`
 * is an MLP 784-h1-...-10 with ReLU between Gemm layers (e.g. mlp-32 =
 * 784-32-10, 25,450 parameters). Same input/output names as the zoo.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { createRng } from '../core/random.js';
import { ZOO_INPUT, ZOO_OUTPUT, ZOO_NAMES, buildZooModel } from '../train/zoo/index.js';
import { linear, relu, type LayerContext } from '../train/zoo/layers.js';
import { ZooGraph, floatValueInfo } from '../train/zoo/onnx-proto.js';

const MLP = /^mlp((?:-\d+)+)$/;

/** True for names `buildStudent` knows: zoo names and mlp-<h>[-<h>...]. */
export function isStudentArch(name: string): boolean {
  return ZOO_NAMES.includes(name) || MLP.test(name);
}

/** MLP 784-hidden...-10 with ReLU, PyTorch default initialization from `seed`. */
export function mlpStudent(hidden: readonly number[], seed = 0): ModelProto {
  if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 65536))
    throw new ModelpressError('E_ARG', `MLP hidden sizes must be integers in 1..65536, got [${hidden.join(', ')}]`);
  const ctx: LayerContext = { graph: new ZooGraph(), rng: createRng(seed), init: 'pytorch' };
  let x = ctx.graph.node('Flatten', [ZOO_INPUT], ['flatten.out'], { axis: 1 }, 'flatten');
  let inFeatures = 784;
  hidden.forEach((h, i) => {
    x = relu(ctx, `relu${i + 1}`, linear(ctx, `fc${i + 1}`, x, inFeatures, h));
    inFeatures = h;
  });
  linear(ctx, `fc${hidden.length + 1}`, x, inFeatures, 10, ZOO_OUTPUT);
  const name = `mlp-${hidden.join('-')}`;
  return ctx.graph.toModel({
    graphName: name,
    docString: `MLP 784-${hidden.join('-')}-10 with ReLU (distillation student)`,
    inputs: [floatValueInfo(ZOO_INPUT, ['N', 1, 28, 28])],
    outputs: [floatValueInfo(ZOO_OUTPUT, ['N', 10])],
  });
}

/** A freshly initialized student by name: a zoo architecture or mlp-<h>[-<h>...]. */
export function buildStudent(name: string, seed = 0): ModelProto {
  const m = MLP.exec(name);
  if (m) return mlpStudent(m[1]!.slice(1).split('-').map(Number), seed);
  if (ZOO_NAMES.includes(name)) return buildZooModel(name, { seed });
  throw new ModelpressError(
    'E_ARG',
    `unknown student architecture '${name}' (expected ${ZOO_NAMES.join(', ')} or mlp-<hidden>[-<hidden>...], e.g. mlp-32)`,
  );
}
