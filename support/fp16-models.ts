/** Models for the fp16 guard's test and bench: the zoo LM with activations float16 cannot hold. */
import type { ModelProto } from 'onnx-buf';
import { makeTensor } from '../src/core/tensor.js';
import { tensorToProto } from '../src/formats/onnx/tensor-proto.js';
import { NameGen } from '../src/graph/names.js';
import { allNames } from '../src/graph/weights.js';
import { makeNode } from '../src/quantize/qdq-helpers.js';
import { transformerLm } from '../src/train/zoo/lm.js';

/**
 * The zoo LM with its token embeddings multiplied by `scale` (a Mul after the Gather: LayerNorm undoes it, so the
 * float32 logits stay finite while the residual stream and its squares leave float16's range) and its final
 * LayerNorm gain set to `gain` (which float16 holds, but the normalized activations times it do not).
 */
export function scaledLm(scale: number, gain = 1): ModelProto {
  const m = transformerLm({ dModel: 32, layers: 2, heads: 2, context: 16, seed: 3 });
  const g = m.graph!;
  const gather = g.node.find((n) => n.opType === 'Gather' && n.input[0] === 'wte.weight')!;
  const out = gather.output[0]!;
  gather.output[0] = `${out}.raw`;
  g.initializer.push(tensorToProto('const.embed_scale', makeTensor('float32', [], new Uint8Array(Float32Array.of(scale).buffer))));
  g.node.splice(g.node.indexOf(gather) + 1, 0, makeNode(new NameGen(allNames(m)), 'Mul', [`${out}.raw`, 'const.embed_scale'], [out]));
  const gi = g.initializer.findIndex((t) => t.name === 'ln_f.weight');
  const d = Number(g.initializer[gi]!.dims[0]);
  g.initializer[gi] = tensorToProto('ln_f.weight', makeTensor('float32', [d], new Uint8Array(new Float32Array(d).fill(gain).buffer)));
  return m;
}
