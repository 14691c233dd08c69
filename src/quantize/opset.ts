/**
 * Opset facts: the default-domain version a model imports, and the operator
 * versions that changed an op's signature or meaning (attributes moved to
 * inputs, new defaults, removed ops), as opposed to mere type additions.
 * opset-upgrade.ts raises opsets by rewriting the nodes these name, and
 * refuses, naming them, where it has no rewrite.
 */
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { walkModel } from '../formats/onnx/walk.js';

/** Versions at which an op's meaning or signature changed (not counting type additions). */
const BREAKING: Record<string, readonly number[]> = {
  Add: [7],
  Sub: [7],
  Mul: [7],
  Div: [7],
  Pow: [7],
  And: [7],
  Or: [7],
  Xor: [7],
  Equal: [7],
  Greater: [7],
  Less: [7],
  Gemm: [7],
  PRelu: [7],
  Sum: [8],
  Max: [8],
  Min: [8],
  Mean: [8],
  BatchNormalization: [6, 7, 9],
  Dropout: [7, 12],
  InstanceNormalization: [6],
  Concat: [4],
  Reshape: [5],
  Upsample: [7, 9, 10],
  Slice: [10],
  TopK: [10, 11],
  Pad: [2, 11],
  Clip: [11],
  Resize: [11],
  Scan: [9],
  Squeeze: [13],
  Unsqueeze: [13],
  Split: [13, 18],
  ReduceSum: [13],
  ReduceMean: [18],
  ReduceMax: [18],
  ReduceMin: [18],
  ReduceProd: [18],
  ReduceL1: [18],
  ReduceL2: [18],
  ReduceLogSum: [18],
  ReduceLogSumExp: [18],
  ReduceSumSquare: [18],
  Softmax: [13],
  LogSoftmax: [13],
  Hardmax: [13],
  LSTM: [7],
  GRU: [7],
  RNN: [7],
  Scatter: [11],
  ImageScaler: [10],
  MaxPool: [8],
  Cast: [6],
  Flatten: [9],
};

export function defaultOpsetOf(model: ModelProto): number {
  const o = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  return o ? Number(o.version) : 0;
}

/** Ops of the default domain whose meaning changes between `from` (exclusive) and `to` (inclusive). */
export function opsBlockingUpgrade(model: ModelProto, from: number, to: number): string[] {
  const blocking = new Set<string>();
  const check = (nodes: readonly NodeProto[]) => {
    for (const n of nodes) {
      if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
      const versions = BREAKING[n.opType];
      if (versions?.some((v) => v > from && v <= to)) blocking.add(n.opType);
    }
  };
  walkModel(
    model,
    ({ graph }) => check(graph.node),
    ({ nodes }) => check(nodes),
  );
  return [...blocking].sort();
}

/** Adds (or raises) an opset import for a non-default domain such as com.microsoft. */
export function ensureDomainOpset(model: ModelProto, domain: string, version: number): void {
  const entry = model.opsetImport.find((x) => x.domain === domain);
  if (entry) {
    if (entry.version < BigInt(version)) entry.version = BigInt(version);
    return;
  }
  model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }));
}
