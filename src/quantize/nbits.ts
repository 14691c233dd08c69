/**
 * int4 / q4f16: MatMul with a constant 2-D B becomes com.microsoft
 * MatMulNBits (4-bit blocks along K). q4f16 runs it on float16 activations
 * (Casts around it, float16 scales). Weights MatMulNBits cannot take fall
 * back to int4 DequantizeLinear (opset 21) where the opset allows.
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { float16ToFloat32, float32ToFloat16 } from '../core/float16.js';
import { makeAttributes } from '../graph/attributes.js';
import { dequantizeMatMulNBits, quantizeMatMulNBits } from './blockwise.js';
import { ensureDomainOpset } from './opset.js';
import { bytesOf, DecoderBuilder, dropDefinition, replaceNode } from './rewrite.js';
import type { WeightContext, WeightFn } from './weight-pass.js';
import { linearWeights } from './weight-only.js';
import type { WeightDef } from '../graph/weights.js';

function isPlainMatMulB(def: WeightDef): boolean {
  return (
    def.shape.length === 2 &&
    !def.graphOutput &&
    def.consumers.length > 0 &&
    def.consumers.every((c) => c.node.opType === 'MatMul' && (c.node.domain === '' || c.node.domain === 'ai.onnx') && c.inputIndex === 1)
  );
}

/** `keepFloat32`: MatMul nodes (by first output) that stay on float32 activations under q4f16 (the fp16 guard's choice). */
export function nbitsWeights(
  f16Scheme: boolean,
  keepFloat32: ReadonlySet<string> = new Set(),
): { fn: WeightFn; prepare: (ctx: WeightContext, defs: WeightDef[]) => void } {
  const fallback = linearWeights(4, true);
  const prepare = (ctx: WeightContext, defs: WeightDef[]) => {
    if (defs.some(isPlainMatMulB)) ensureDomainOpset(ctx.model, 'com.microsoft', 1);
    const others = defs.filter((d) => !isPlainMatMulB(d));
    if (others.length > 0) {
      try {
        fallback.prepare(ctx, others);
      } catch {
        // the fallback's fn reports per tensor why it cannot apply
      }
    }
  };
  const fn: WeightFn = (def, x, ctx) => {
    if (!isPlainMatMulB(def)) {
      if (def.consumers.some((c) => c.node.opType === 'MatMul')) return { skip: 'MatMul weight that is not a 2-D B input' };
      return fallback.fn(def, x, ctx);
    }
    const { opts } = ctx;
    const f16 = f16Scheme && !def.consumers.some((c) => keepFloat32.has(c.node.output[0] ?? ''));
    const [k, n] = def.shape as [number, number];
    const blockSize = opts.blockSize ?? 32;
    const w = quantizeMatMulNBits(x, k, n, blockSize, opts.symmetric ?? false);
    const kBlocks = Math.ceil(k / blockSize);
    const b = new DecoderBuilder(ctx.names, def.name);
    const bq = b.tensor('nbits', 'uint8', [n, kBlocks, blockSize / 2], w.packed);
    const scales16 = f16 ? float32ToFloat16(w.scales) : undefined;
    const scales = scales16
      ? b.tensor('scales', 'float16', [n * kBlocks], bytesOf(scales16))
      : b.tensor('scales', 'float32', [n * kBlocks], bytesOf(w.scales));
    const zp = w.zeroPoints ? b.tensor('zero_points', 'uint8', [w.zeroPoints.length], w.zeroPoints) : undefined;
    let restored = dequantizeMatMulNBits(w);
    if (scales16) restored = dequantizeMatMulNBits({ ...w, scales: float16ToFloat32(scales16) });
    const attrs = { K: k, N: n, bits: 4, block_size: blockSize, ...(opts.accuracyLevel ? { accuracy_level: opts.accuracyLevel } : {}) };
    const mk = (opType: string, inputs: string[], outputs: string[], attributes: Record<string, number>, domain = '') =>
      create(NodeProtoSchema, {
        name: ctx.names.fresh(`${def.name}_${opType}`),
        opType,
        domain,
        input: inputs,
        output: outputs,
        attribute: makeAttributes(attributes),
      });
    return {
      action: `${f16 ? 'q4f16' : 'int4'} MatMulNBits, blocks of ${blockSize}${w.zeroPoints ? ', asymmetric' : ''}`,
      restored,
      apply: () => {
        const inits = b.build().initializers;
        dropDefinition(def, inits);
        for (const c of def.consumers) {
          const [a] = c.node.input;
          const [y] = c.node.output;
          const inputs = [a!, bq, scales, ...(zp ? [zp] : [])];
          if (!f16) {
            replaceNode(c.graph, c.node, [mk('MatMulNBits', inputs, [y!], attrs, 'com.microsoft')]);
            continue;
          }
          const a16 = ctx.names.fresh(`${a}_fp16`);
          const y16 = ctx.names.fresh(`${y}_fp16`);
          replaceNode(c.graph, c.node, [
            mk('Cast', [a!], [a16], { to: ONNX_TYPE.float16 }),
            mk('MatMulNBits', [a16, ...inputs.slice(1)], [y16], attrs, 'com.microsoft'),
            mk('Cast', [y16], [y!], { to: ONNX_TYPE.float32 }),
          ]);
        }
        return inits;
      },
    };
  };
  return { fn, prepare };
}
