/**
 * The zoo's language model: a decoder-only, byte-level transformer in the
 * GPT-2 layout (token + learned position embeddings, pre-LayerNorm blocks of
 * causal multi-head self-attention and a GELU MLP, a final LayerNorm, an
 * untied head). Linear layers are MatMul + Add on [in, out] weights, as
 * torch.onnx exports nn.Linear inside a transformer (the form MatMulNBits
 * replaces); LayerNorm and GELU are written out in primitive ops (ReduceMean,
 * Sqrt, Erf), as exports below opset 17 have them, so every op has a
 * gradient rule.
 *
 * Input `input_ids` int64 [N, T] (T <= context), output `logits` float32
 * [N, T, vocab]: logits[:, t] predict token t + 1.
 */
import type { ModelProto } from 'onnx-buf';
import { createRng, type Rng } from '../../core/random.js';
import { ModelpressError } from '../../core/errors.js';
import { floatValueInfo, int64Initializer, int64ValueInfo, ZooGraph } from './onnx-proto.js';

export interface TransformerLmOptions {
  /** Seed of the weight initialization; default 0. */
  seed?: number;
  /** Vocabulary size; default 256 (bytes). */
  vocab?: number;
  /** Longest sequence (rows of the position embedding); default 128. */
  context?: number;
  /** Width of the residual stream; default 128. */
  dModel?: number;
  /** Transformer blocks; default 4. */
  layers?: number;
  /** Attention heads (dModel must divide by it); default 4. */
  heads?: number;
  /** Hidden width of the MLP; default 4 * dModel. */
  mlp?: number;
}

/** Name of the LM's input (int64 token ids [N, T]). */
export const LM_INPUT = 'input_ids';
/** Name of the LM's output (float32 logits [N, T, vocab]). */
export const LM_OUTPUT = 'logits';

/** Resolved sizes of a zoo LM. */
export interface TransformerLmShape {
  vocab: number;
  context: number;
  dModel: number;
  layers: number;
  heads: number;
  mlp: number;
}

export function transformerLmShape(opts: TransformerLmOptions = {}): TransformerLmShape {
  const dModel = opts.dModel ?? 128;
  const s = {
    vocab: opts.vocab ?? 256,
    context: opts.context ?? 128,
    dModel,
    layers: opts.layers ?? 4,
    heads: opts.heads ?? 4,
    mlp: opts.mlp ?? 4 * dModel,
  };
  for (const [k, v] of Object.entries(s))
    if (!Number.isInteger(v) || v < 1) throw new ModelpressError('E_ARG', `transformer LM ${k} must be an integer >= 1, got ${v}`);
  if (s.dModel % s.heads !== 0) throw new ModelpressError('E_ARG', `dModel ${s.dModel} does not divide into ${s.heads} heads`);
  return s;
}

/** Trainable parameters of a zoo LM of these sizes. */
export function transformerLmParameters(opts: TransformerLmOptions = {}): number {
  const { vocab, context, dModel: d, layers, mlp } = transformerLmShape(opts);
  const block = 2 * 2 * d + 4 * (d * d + d) + (d * mlp + mlp) + (mlp * d + d);
  return vocab * d + context * d + layers * block + 2 * d + d * vocab;
}

function normalArray(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

/** The zoo LM with GPT-2's initialization (normal 0.02, residual projections 0.02 / sqrt(2 * layers), zero biases). */
export function transformerLm(opts: TransformerLmOptions = {}): ModelProto {
  const { vocab, context, dModel: d, layers, heads, mlp } = transformerLmShape(opts);
  const rng = createRng(opts.seed ?? 0);
  const g = new ZooGraph();
  const dh = d / heads;
  const residualStd = 0.02 / Math.sqrt(2 * layers);
  const ints = (name: string, values: readonly number[]) => {
    g.initializers.push(int64Initializer(name, [values.length], values));
    return name;
  };
  const scalar = (name: string, v: number) => g.weight(name, [], Float32Array.of(v));
  const zero = ints('const.zero', [0]);
  const one = ints('const.one', [1]);
  const two = ints('const.two', [2]);
  const eps = scalar('const.ln_eps', 1e-5);
  const half = scalar('const.half', 0.5);
  const oneF = scalar('const.one_f', 1);
  const invSqrt2 = scalar('const.inv_sqrt2', Math.SQRT1_2);
  const attnScale = scalar('const.attn_scale', 1 / Math.sqrt(dh));
  const headShape = ints('const.head_shape', [0, 0, heads, dh]);
  const mergedShape = ints('const.merged_shape', [0, 0, d]);

  const linear = (name: string, x: string, fanIn: number, fanOut: number, std: number, bias = true): string => {
    const w = g.weight(`${name}.weight`, [fanIn, fanOut], normalArray(fanIn * fanOut, std, rng));
    const y = g.node('MatMul', [x, w], [`${name}.matmul`], {}, `${name}/MatMul`);
    if (!bias) return y;
    const b = g.weight(`${name}.bias`, [fanOut], new Float32Array(fanOut));
    return g.node('Add', [y, b], [`${name}.out`], {}, `${name}/Add`);
  };
  const layerNorm = (name: string, x: string): string => {
    const gamma = g.weight(`${name}.weight`, [d], new Float32Array(d).fill(1));
    const beta = g.weight(`${name}.bias`, [d], new Float32Array(d));
    const mean = g.node('ReduceMean', [x], [`${name}.mean`], { axes: [-1], keepdims: 1 }, `${name}/ReduceMean`);
    const centered = g.node('Sub', [x, mean], [`${name}.centered`], {}, `${name}/Sub`);
    const sq = g.node('Mul', [centered, centered], [`${name}.sq`], {}, `${name}/Square`);
    const variance = g.node('ReduceMean', [sq], [`${name}.var`], { axes: [-1], keepdims: 1 }, `${name}/Variance`);
    const std = g.node(
      'Sqrt',
      [g.node('Add', [variance, eps], [`${name}.var_eps`], {}, `${name}/AddEps`)],
      [`${name}.std`],
      {},
      `${name}/Sqrt`,
    );
    const normed = g.node('Div', [centered, std], [`${name}.normed`], {}, `${name}/Div`);
    const scaled = g.node('Mul', [normed, gamma], [`${name}.scaled`], {}, `${name}/Scale`);
    return g.node('Add', [scaled, beta], [`${name}.out`], {}, `${name}/Shift`);
  };
  const gelu = (name: string, x: string): string => {
    const erf = g.node('Erf', [g.node('Mul', [x, invSqrt2], [`${name}.xs`], {}, `${name}/MulSqrt`)], [`${name}.erf`], {}, `${name}/Erf`);
    const onePlus = g.node('Add', [erf, oneF], [`${name}.erf1`], {}, `${name}/AddOne`);
    const halfX = g.node('Mul', [x, half], [`${name}.halfx`], {}, `${name}/MulHalf`);
    return g.node('Mul', [halfX, onePlus], [`${name}.out`], {}, `${name}/Mul`);
  };

  // Sequence length T and the [T, T] causal mask cut from the [context, context] constant.
  const shape = g.node('Shape', [LM_INPUT], ['ids.shape'], {}, 'ids/Shape');
  const seqLen = g.node('Slice', [shape, one, two], ['ids.seq_len'], {}, 'ids/SeqLen');
  const maskValues = new Float32Array(context * context);
  for (let i = 0; i < context; i++) for (let j = i + 1; j < context; j++) maskValues[i * context + j] = -1e4;
  const maskFull = g.weight('const.causal_mask', [context, context], maskValues);
  const mask = g.node('Slice', [maskFull, zero, seqLen, zero], ['mask.rows'], {}, 'mask/Rows');
  const causal = g.node('Slice', [mask, zero, seqLen, one], ['mask.causal'], {}, 'mask/Cols');

  const wte = g.weight('wte.weight', [vocab, d], normalArray(vocab * d, 0.02, rng));
  const wpe = g.weight('wpe.weight', [context, d], normalArray(context * d, 0.01, rng));
  const tok = g.node('Gather', [wte, LM_INPUT], ['wte.out'], { axis: 0 }, 'wte/Gather');
  const pos = g.node('Slice', [wpe, zero, seqLen, zero], ['wpe.out'], {}, 'wpe/Slice');
  let x = g.node('Add', [tok, pos], ['embed.out'], {}, 'embed/Add');

  for (let l = 0; l < layers; l++) {
    const p = `h.${l}`;
    const h = layerNorm(`${p}.ln_1`, x);
    const split = (name: string, perm: number[]) => {
      const y = linear(`${p}.attn.${name}`, h, d, d, 0.02);
      const r = g.node('Reshape', [y, headShape], [`${p}.attn.${name}.heads`], {}, `${p}.attn.${name}/Reshape`);
      return g.node('Transpose', [r], [`${p}.attn.${name}.t`], { perm }, `${p}.attn.${name}/Transpose`);
    };
    const q = split('q_proj', [0, 2, 1, 3]); // [N, H, T, dh]
    const k = split('k_proj', [0, 2, 3, 1]); // [N, H, dh, T]
    const v = split('v_proj', [0, 2, 1, 3]); // [N, H, T, dh]
    const scores = g.node('MatMul', [q, k], [`${p}.attn.scores`], {}, `${p}.attn/QK`);
    const scaled = g.node('Mul', [scores, attnScale], [`${p}.attn.scaled`], {}, `${p}.attn/Scale`);
    const masked = g.node('Add', [scaled, causal], [`${p}.attn.masked`], {}, `${p}.attn/Mask`);
    const probs = g.node('Softmax', [masked], [`${p}.attn.probs`], { axis: -1 }, `${p}.attn/Softmax`);
    const ctx = g.node('MatMul', [probs, v], [`${p}.attn.ctx`], {}, `${p}.attn/PV`);
    const ctxT = g.node('Transpose', [ctx], [`${p}.attn.ctx_t`], { perm: [0, 2, 1, 3] }, `${p}.attn/TransposeOut`);
    const merged = g.node('Reshape', [ctxT, mergedShape], [`${p}.attn.merged`], {}, `${p}.attn/Merge`);
    const attnOut = linear(`${p}.attn.o_proj`, merged, d, d, residualStd);
    x = g.node('Add', [x, attnOut], [`${p}.resid_attn`], {}, `${p}/ResidAttn`);
    const h2 = layerNorm(`${p}.ln_2`, x);
    const up = gelu(`${p}.mlp.act`, linear(`${p}.mlp.fc_in`, h2, d, mlp, 0.02));
    const down = linear(`${p}.mlp.fc_out`, up, mlp, d, residualStd);
    x = g.node('Add', [x, down], [`${p}.resid_mlp`], {}, `${p}/ResidMlp`);
  }
  const final = layerNorm('ln_f', x);
  const logits = linear('lm_head', final, d, vocab, 0.02, false);
  g.node('Identity', [logits], [LM_OUTPUT], {}, 'logits/Identity');
  return g.toModel({
    graphName: 'byte-lm',
    docString: `byte-level decoder-only transformer: vocab ${vocab}, context ${context}, d_model ${d}, ${layers} layers, ${heads} heads, MLP ${mlp}`,
    inputs: [int64ValueInfo(LM_INPUT, ['N', 'T'])],
    outputs: [floatValueInfo(LM_OUTPUT, ['N', 'T', vocab])],
  });
}
