/**
 * bench/fp16-guard: safe float16 on the zoo LM (dModel 32, 2 layers) with its token embeddings scaled by 1e7 and
 * its final LayerNorm gain at 6e4, so the residual stream and the final activations leave float16's range while
 * the float32 logits stay finite. Prints, for the plain conversion (--no-fp16-guard) and the guarded one, next
 * to each other: activations holding Inf/NaN (graph optimizations off, as a float16 runtime computes them),
 * nodes kept in float32, logits SNR against float32 on held-out ids (optimizations off and on), file size.
 * Then the same for q4f16, and the unscaled model (the guard keeps nothing).
 * Run: npx tsx bench/fp16-guard.ts
 */
import type { ModelProto } from 'onnx-buf';
import { toFloat32 } from '../src/core/tensor.js';
import { FidelityAccumulator } from '../src/eval/fidelity.js';
import { writeOnnx } from '../src/formats/onnx/index.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { activationPeaks } from '../src/quantize/fp16-guard.js';
import { quantizeModel } from '../src/quantize/index.js';
import type { CalibrationFeed } from '../src/quantize/types.js';
import type { RunnerFactory } from '../src/runtime/runner.js';
import { scaledLm } from '../support/fp16-models.js';

const openRunner: RunnerFactory = (m, o) => createNodeRunner(m, { intraOpThreads: 1, ...o });

function ids(seed: number): CalibrationFeed {
  const data = new BigInt64Array(2 * 16);
  for (let k = 0; k < data.length; k++) data[k] = BigInt((k * 37 + seed * 11) % 256);
  return { input_ids: { dtype: 'int64', shape: [2, 16], data } };
}
const asTensors = (f: CalibrationFeed) => {
  const d = f.input_ids!.data;
  return { input_ids: { dtype: 'int64' as const, shape: [2, 16], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) } };
};
const calibration = [ids(1), ids(2), ids(3), ids(4)];
const held = [ids(5), ids(6), ids(7)];

async function logits(model: ModelProto, optimized: boolean): Promise<Float32Array[]> {
  const r = await openRunner(writeOnnx(model), optimized ? {} : { graphOptimization: 'disabled' });
  try {
    const out: Float32Array[] = [];
    for (const f of held) out.push(toFloat32((await r.run(asTensors(f))).logits!));
    return out;
  } finally {
    await r.dispose();
  }
}

function snr(ref: Float32Array[], x: Float32Array[]): string {
  const a = new FidelityAccumulator('logits', 0);
  ref.forEach((r, i) => a.add(r, x[i]!));
  const s = a.result().snrDb;
  return Number.isFinite(s) ? `${s.toFixed(1)} dB` : `${s} dB`;
}

async function row(label: string, model: ModelProto, scheme: 'fp16' | 'q4f16', guard: boolean): Promise<void> {
  const refOff = await logits(model, false);
  const refOn = await logits(model, true);
  const t0 = performance.now();
  const r = await quantizeModel(model, scheme, { openRunner, calibration, fp16Guard: guard, minSize: 0 });
  const ms = performance.now() - t0;
  const peaks = await activationPeaks(r.model, held.map(asTensors), openRunner);
  const inf = [...peaks.values()].filter((m) => !Number.isFinite(m)).length;
  const kept = /fp16 guard: (\d+) activation\(s\).*?(\d+) node\(s\) producing/.exec(r.notes.join('\n'));
  const cols = [
    label.padEnd(22),
    `${scheme}${guard ? ' guarded' : ' plain  '}`.padEnd(14),
    `${inf}/${peaks.size}`.padStart(9),
    (kept ? `${kept[2]}` : guard ? '0' : '-').padStart(6),
    snr(refOff, await logits(r.model, false)).padStart(16),
    snr(refOn, await logits(r.model, true)).padStart(16),
    `${(writeOnnx(r.model).length / 1024).toFixed(0)} KiB`.padStart(9),
    `${ms.toFixed(0)} ms`.padStart(8),
  ];
  console.log(cols.join('  '));
}

console.log(
  [
    'model'.padEnd(22),
    'conversion'.padEnd(14),
    'Inf/NaN'.padStart(9),
    'kept'.padStart(6),
    'SNR (opt off)'.padStart(16),
    'SNR (opt on)'.padStart(16),
    'size'.padStart(9),
    'time'.padStart(8),
  ].join('  '),
);
const scaled = scaledLm(1e7, 6e4);
const plain = scaledLm(1);
for (const scheme of ['fp16', 'q4f16'] as const) {
  await row('scaled LM (1e7, 6e4)', scaled, scheme, false);
  await row('scaled LM (1e7, 6e4)', scaled, scheme, true);
  await row('unscaled LM', plain, scheme, false);
  await row('unscaled LM', plain, scheme, true);
}
console.log(
  'Inf/NaN: activations (of all float node outputs) holding Inf or NaN on the held-out ids; kept: nodes the guard kept in float32.',
);
