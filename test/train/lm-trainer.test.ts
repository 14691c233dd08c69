import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { buildTrainingGraph } from '../../src/train/autodiff/index.js';
import { heldOutCrossEntropy, NEXT_TOKEN_LOSS, trainLanguageModel, withNextTokenLoss } from '../../src/train/lm-trainer.js';
import { transformerLm } from '../../src/train/zoo/lm.js';
import { gradCheck } from './autodiff/gradcheck.js';

const session = (m: Parameters<typeof toBinary<typeof ModelProtoSchema>>[1]) =>
  ort.InferenceSession.create(toBinary(ModelProtoSchema, m), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });

function ids(values: number[], shape: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
}

describe('causal attention gradient (finite differences, float64)', () => {
  it('4-D batched QK^T, scale, causal mask, Softmax on the last axis, PV', async () => {
    const [n, h, t, dh] = [2, 2, 3, 4];
    const mask: number[] = [];
    for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) mask.push(j > i ? -1e4 : 0);
    await gradCheck({
      params: { q: { shape: [n, h, t, dh] }, k: { shape: [n, h, dh, t] }, v: { shape: [n, h, t, dh] } },
      forward: (b) => {
        const m = b.constant('float64', [t, t], mask);
        const scores = b.op('Mul', [b.op('MatMul', ['q', 'k']), b.scalar(0.5, 'float64')]);
        const probs = b.op('Softmax', [b.op('Add', [scores, m])], { axis: -1 });
        const ctx = b.op('MatMul', [probs, 'v']);
        return b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), b.int64s([0, 0, h * dh])]);
      },
    });
  });
});

describe('next-token loss and the zoo LM', () => {
  const tiny = { vocab: 16, context: 6, dModel: 8, layers: 1, heads: 2, mlp: 12, seed: 3 };
  const batch = [1, 5, 2, 9, 15, 0, 3, 3, 7, 1, 12, 4];

  it('the loss is the mean -log p(next byte) over positions 0..T-2', async () => {
    const withLoss = withNextTokenLoss(transformerLm(tiny), 'input_ids', 'logits');
    new GraphBuilder(withLoss.graph!).output(NEXT_TOKEN_LOSS, 'float32', []);
    const s = await session(withLoss);
    const out = await s.run({ input_ids: ids(batch, [2, 6]) });
    const logits = out.logits!.data as Float32Array;
    let sum = 0;
    for (let k = 0; k < 2; k++)
      for (let t = 0; t < 5; t++) {
        const row = Array.from(logits.subarray((k * 6 + t) * 16, (k * 6 + t + 1) * 16));
        const max = Math.max(...row);
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
        sum += lse - row[batch[k * 6 + t + 1]!]!;
      }
    expect(Number((out[NEXT_TOKEN_LOSS]!.data as Float32Array)[0])).toBeCloseTo(sum / 10, 4);
  });

  it('gradients of every LM weight match central differences of the loss (float32)', async () => {
    const model = withNextTokenLoss(transformerLm(tiny), 'input_ids', 'logits');
    const graph = buildTrainingGraph(model, { loss: { kind: 'output', name: NEXT_TOKEN_LOSS } });
    const names = graph.params.map((p) => p.name);
    for (const n of ['wte.weight', 'wpe.weight', 'h.0.attn.q_proj.weight', 'h.0.ln_1.weight', 'h.0.mlp.fc_in.weight', 'lm_head.weight'])
      expect(names).toContain(n);
    const train = await session(graph.model);
    const feeds: Record<string, ort.Tensor> = { input_ids: ids(batch, [2, 6]) };
    // Weights of std ~0.5 instead of GPT-2's 0.02, so GELU, attention and LayerNorm are far from linear.
    const values = new Map(graph.params.map((p) => [p.name, Float32Array.from(p.initial, (v, i) => v * 25 + (i % 3) * 0.1)]));
    for (const p of graph.params) feeds[p.name] = new ort.Tensor('float32', values.get(p.name)!, p.shape);
    const out = await train.run(feeds);
    // Forward-only loss with the weights as inputs: the same training graph, loss fetched.
    const lossAt = async (): Promise<number> => Number((await train.run(feeds, [graph.lossOutput]))[graph.lossOutput]!.data[0]);
    let checked = 0;
    for (const p of graph.params) {
      const g = out[p.grad]!.data as Float32Array;
      const w = values.get(p.name)!;
      // The elements with the largest gradients: float32 differences resolve them.
      const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!));
      for (const i of order.slice(0, 2)) {
        const old = w[i]!;
        const eps = 1e-2;
        w[i] = old + eps;
        const up = await lossAt();
        w[i] = old - eps;
        const down = await lossAt();
        w[i] = old;
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(numeric - g[i]!), `${p.name}[${i}]: analytic ${g[i]} numeric ${numeric}`).toBeLessThanOrEqual(
          2e-3 + 5e-2 * Math.abs(g[i]!),
        );
        checked++;
      }
    }
    expect(checked).toBe(2 * graph.params.length);
  });

  it('trainLanguageModel learns a repeating text: held-out loss falls far below the uniform log(256)', async () => {
    const text = 'the quick brown fox jumps over the lazy dog. ';
    const T = 16;
    const count = 40;
    const all = new Int32Array(count * T);
    for (let i = 0; i < all.length; i++) all[i] = text.charCodeAt(i % text.length);
    const train = { ids: all.subarray(0, 32 * T), count: 32, length: T };
    const heldOut = { ids: all.subarray(32 * T), count: 8, length: T };
    const model = transformerLm({ context: T, dModel: 16, layers: 1, heads: 2, seed: 1 });
    const before = await heldOutCrossEntropy(createNodeRunner, model, heldOut);
    expect(before).toBeGreaterThan(Math.log(256) - 0.1);
    const r = await trainLanguageModel({ openRunner: createNodeRunner, model, train, heldOut, steps: 60, batchSize: 8, lr: 1e-2 });
    expect(r.losses).toHaveLength(60);
    expect(r.heldOutLoss!).toBeLessThan(1.5);
    expect(r.heldOutLoss!).toBeLessThan(r.losses[0]! / 2);
    // The returned model is the trained one.
    expect(await heldOutCrossEntropy(createNodeRunner, r.model, heldOut)).toBeCloseTo(r.heldOutLoss!, 5);
  });

  it('bad input: no steps, windows of one token', async () => {
    const model = transformerLm({ context: 4, dModel: 8, layers: 1, heads: 2 });
    const w = { ids: new Int32Array(8), count: 2, length: 4 };
    await expect(trainLanguageModel({ openRunner: createNodeRunner, model, train: w, steps: 0 })).rejects.toThrow(/steps must be/);
    await expect(
      trainLanguageModel({ openRunner: createNodeRunner, model, train: { ids: new Int32Array(2), count: 2, length: 1 }, steps: 1 }),
    ).rejects.toThrow(/>= 2 tokens/);
  });
});
