/** The model zoo: networks built in TypeScript as ONNX graphs, by name. */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { cnnBn, dwsepBn, lenet300100, lenet5, type ZooBuildOptions } from './architectures.js';

export { ZOO_INPUT, ZOO_OUTPUT, lenet300100, lenet5, dwsepBn, cnnBn } from './architectures.js';
export type { ZooBuildOptions } from './architectures.js';
export type { InitScheme } from './init.js';

export interface ZooEntry {
  readonly name: string;
  readonly description: string;
  /** Trainable parameter count. */
  readonly parameters: number;
  /** Input shape per example. */
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly build: (opts?: ZooBuildOptions) => ModelProto;
}

export const ZOO: readonly ZooEntry[] = [
  {
    name: 'lenet-300-100',
    description: 'MLP 784-300-100-10 with ReLU (Deep Compression LeNet-300-100)',
    parameters: 266_610,
    inputShape: [1, 28, 28],
    classes: 10,
    build: lenet300100,
  },
  {
    name: 'lenet-5',
    description: 'Caffe LeNet-5: conv 20 5x5, pool, conv 50 5x5, pool, fc 500, ReLU, fc 10',
    parameters: 431_080,
    inputShape: [1, 28, 28],
    classes: 10,
    build: lenet5,
  },
  {
    name: 'dwsep-bn',
    description: 'small CNN: conv+BN stem, 2 depthwise-separable blocks with BN, global average pool, fc 10',
    parameters: 4_106,
    inputShape: [1, 28, 28],
    classes: 10,
    build: dwsepBn,
  },
  {
    name: 'cnn-bn',
    description: 'BatchNorm CNN: 3 x (conv 3x3 + BN + ReLU) 32/64/128, max-pool after the first two, global average pool, fc 10',
    parameters: 94_186,
    inputShape: [1, 28, 28],
    classes: 10,
    build: cnnBn,
  },
];

export const ZOO_NAMES = ZOO.map((z) => z.name);

export function zooEntry(name: string): ZooEntry {
  const entry = ZOO.find((z) => z.name === name);
  if (!entry) throw new ModelpressError('E_ARG', `unknown architecture '${name}' (expected one of ${ZOO_NAMES.join(', ')})`);
  return entry;
}

/** Builds a zoo network by name with freshly initialized weights. */
export function buildZooModel(name: string, opts: ZooBuildOptions = {}): ModelProto {
  return zooEntry(name).build(opts);
}
export {
  LM_INPUT,
  LM_OUTPUT,
  transformerLm,
  transformerLmParameters,
  transformerLmShape,
  type TransformerLmOptions,
  type TransformerLmShape,
} from './lm.js';
