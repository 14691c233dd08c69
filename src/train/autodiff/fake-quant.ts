/**
 * Fake quantization for quantization-aware training, as plain float ONNX ops:
 *   y = (Clip(Round(x / s) + z, qmin, qmax) - z) * s
 * The Round node carries the straight-through marker, so its gradient is the
 * identity; Clip zeroes it outside the grid. Net effect: dy/dx = 1 inside the
 * clip range, 0 outside (STE); the scale also receives its (LSQ-style) gradient
 * if it is made trainable. Works for any bit width and per-channel axes, at
 * opset 17, with no int4 operator support needed.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { GraphBuilder } from '../../graph/builder.js';
import { cloneModel } from '../../graph/model-edit.js';
import { inferShapes } from '../../graph/shape-inference.js';
import { graphDTypeFromOnnx } from '../../graph/tensor-proto.js';
import { STE_MARKER } from '../rules/misc.js';
import type { FakeQuantSpec } from './types.js';

export interface FakeQuantResult {
  model: ModelProto;
  /** Per spec: the fake-quantized tensor name and the scale / zero-point tensor names (initializers or inputs). */
  inserted: { tensor: string; output: string; scale: string; zeroPoint: string }[];
}

/** Integer grid of a spec: [qmin, qmax]. */
export function quantGrid(bits: number, signed: boolean): [number, number] {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16)
    throw new ModelpressError('E_ARG', `fake quantization bits must be an integer in 2..16, got ${bits}`);
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/** Returns a copy of `model` with fake quantization on each spec's tensor; all consumers read the fake-quantized value. */
export function insertFakeQuant(model: ModelProto, specs: readonly FakeQuantSpec[]): FakeQuantResult {
  const out = cloneModel(model);
  const graph = out.graph!;
  const shapes = inferShapes(graph);
  const b = new GraphBuilder(graph);
  const inserted: FakeQuantResult['inserted'] = [];
  for (const spec of specs) {
    const x = spec.tensor;
    const info = shapes.get(x);
    if (!info) throw new ModelpressError('E_NOT_FOUND', `fake quantization: tensor '${x}' not found in the graph`);
    const dt = graphDTypeFromOnnx(info.elemType);
    if (dt !== 'float32' && dt !== 'float64') throw new ModelpressError('E_ARG', `fake quantization: tensor '${x}' is not float32/float64`);
    const [qmin, qmax] = quantGrid(spec.bits, spec.signed);
    const rank = info.shape?.length;
    let channels = 1;
    if (spec.axis !== undefined) {
      if (rank === undefined) throw new ModelpressError('E_GRAPH', `fake quantization: the rank of '${x}' is unknown`);
      const d = info.shape![spec.axis < 0 ? spec.axis + rank : spec.axis];
      if (typeof d !== 'number') throw new ModelpressError('E_GRAPH', `fake quantization: dim ${spec.axis} of '${x}' is not static`);
      channels = d;
    }
    let scale: string, zp: string;
    if (spec.scaleInput) {
      scale = b.input(spec.scaleInput, dt, [channels]);
      zp = spec.zeroPointInput ? b.input(spec.zeroPointInput, dt, [channels]) : b.constant(dt, [channels], Array(channels).fill(0));
    } else {
      const s = spec.scale ? Array.from(spec.scale) : undefined;
      if (!s || s.length !== channels)
        throw new ModelpressError('E_SHAPE', `fake quantization of '${x}': need ${channels} scale value(s), got ${s?.length ?? 0}`);
      if (s.some((v) => !(v > 0) || !Number.isFinite(v)))
        throw new ModelpressError('E_ARG', `fake quantization of '${x}': scales must be finite and > 0`);
      const z = spec.zeroPoint ? [...spec.zeroPoint] : Array(channels).fill(0);
      if (z.length !== channels)
        throw new ModelpressError('E_SHAPE', `fake quantization of '${x}': need ${channels} zero point(s), got ${z.length}`);
      scale = b.initializer(`${x}_fq_scale`, dt, [channels], s);
      zp = b.initializer(`${x}_fq_zero_point`, dt, [channels], z);
    }
    let sB = scale,
      zB = zp;
    if (spec.axis !== undefined && rank !== undefined && rank > 1) {
      const axis = spec.axis < 0 ? spec.axis + rank : spec.axis;
      const bshape = b.int64s(Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1)));
      sB = b.op('Reshape', [scale, bshape]);
      zB = b.op('Reshape', [zp, bshape]);
    }
    const consumers = graph.node.filter((n) => n.input.includes(x));
    const base = `${x}_fq`;
    const divided = b.op('Div', [x, sB], undefined, `${base}_div`);
    const rounded = b.op('Round', [divided], undefined, `${base}_round`);
    graph.node[graph.node.length - 1]!.docString = STE_MARKER;
    const clipped = b.op('Clip', [b.op('Add', [rounded, zB]), b.scalar(qmin, dt), b.scalar(qmax, dt)], undefined, `${base}_clip`);
    const y = b.op('Mul', [b.op('Sub', [clipped, zB]), sB], undefined, `${base}_dequant`);
    for (const n of consumers) n.input = n.input.map((i) => (i === x ? y : i));
    inserted.push({ tensor: x, output: y, scale, zeroPoint: zp });
  }
  return { model: out, inserted };
}
