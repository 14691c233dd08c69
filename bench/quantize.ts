/**
 * bench/quantize: what each post-training scheme does to the real fixtures.
 *
 * 1. Weight quantization speed per scheme on PP-OCRv4 rec, in MB/s of the
 *    float32 weights it quantized (MB = 10^6 bytes), best of 3; next to a
 *    plain Float32Array copy of the same bytes in the same run as the peer
 *    (the memory-bandwidth ceiling), printed as a ratio.
 * 2. Fidelity per scheme x model on 4 seeded inputs each: file size ratio,
 *    output cosine, output SNR (dB), top-1 agreement. Outputs: rec and cls
 *    their class scores (agreement = same argmax per row), silero_vad its
 *    speech probability (agreement = same side of 0.5), det its logit map
 *    before the final Sigmoid (agreement = same side of 0.3 probability,
 *    PP-OCR's box threshold).
 *
 * 3. PP-OCRv4 det's outliers under per-tensor vs per-channel scales,
 *    calibration clipping, and the float16 overflow policy.
 *
 * Run: npx tsx bench/quantize.ts [speed|fidelity|det]
 */
import { readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { quantizeModel } from '../src/quantize/index.js';
import { FIXTURES, fixtureBytes, runModel, withDetLogits } from '../support/quantize-fixtures.js';

const SPEED_SCHEMES: [string, object][] = [
  ['fp16-weights', {}],
  ['bf16-weights', {}],
  ['int8', {}],
  ['int8', { perChannel: true }],
  ['uint8', {}],
  ['int4', {}],
  ['q4f16', {}],
  ['kmeans:4', {}],
  ['kmeans:8', {}],
  ['dynamic', {}],
];
const FIDELITY_SCHEMES: [string, object][] = [
  ['fp16-weights', {}],
  ['bf16-weights', {}],
  ['int8', {}],
  ['int8', { foldBatchNorm: true, compactNames: true }],
  ['int8', { perChannel: true, symmetric: true }],
  ['int8', { perChannel: true, symmetric: true, compactNames: true }],
  ['dynamic', {}],
  ['int4', {}],
  ['q4f16', {}],
  ['kmeans:4', {}],
  ['kmeans:6', {}],
  ['kmeans:8', {}],
];

function label(scheme: string, opts: object): string {
  return Object.keys(opts).length ? `${scheme} (${Object.keys(opts).join(', ')})` : scheme;
}

async function speed(): Promise<void> {
  const f = FIXTURES.rec;
  const proto = readOnnx(fixtureBytes(f)).proto;
  console.log('\n## Weight quantization speed on PP-OCRv4 rec (best of 3)\n');
  console.log('| scheme | weights MB | MB/s | vs Float32Array copy |');
  console.log('|---|---:|---:|---:|');
  for (const [scheme, opts] of SPEED_SCHEMES) {
    let best = Infinity;
    let mb = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const res = await quantizeModel(proto, scheme, opts);
      best = Math.min(best, (performance.now() - t0) / 1000);
      mb = res.tensors.filter((t) => t.action !== 'skipped').reduce((a, t) => a + t.bytesBefore, 0) / 1e6;
    }
    const buf = new Float32Array((mb * 1e6) / 4).fill(1);
    let copy = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      buf.slice();
      copy = Math.min(copy, (performance.now() - t0) / 1000);
    }
    console.log(`| ${label(scheme, opts)} | ${mb.toFixed(2)} | ${(mb / best).toFixed(1)} | ${(copy / best).toFixed(4)}x |`);
  }
}

interface Stats {
  cos: number;
  snr: number;
  agree: number;
}

function compare(name: string, ref: Float32Array, out: Float32Array, cols: number): Stats {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  let se = 0;
  for (let i = 0; i < ref.length; i++) {
    ab += ref[i]! * out[i]!;
    aa += ref[i]! ** 2;
    bb += out[i]! ** 2;
    se += (ref[i]! - out[i]!) ** 2;
  }
  let agree = 0;
  let rows = 0;
  if (name === 'det' || cols === 1) {
    const cut = name === 'det' ? Math.log(0.3 / 0.7) : 0.5; // det compares logits: the 0.3-probability cut
    for (let i = 0; i < ref.length; i++, rows++) if (ref[i]! > cut === out[i]! > cut) agree++;
  } else {
    for (let r = 0; r + cols <= ref.length; r += cols, rows++) {
      let ia = 0;
      let ib = 0;
      for (let c = 1; c < cols; c++) {
        if (ref[r + c]! > ref[r + ia]!) ia = c;
        if (out[r + c]! > out[r + ib]!) ib = c;
      }
      if (ia === ib) agree++;
    }
  }
  return {
    cos: aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb),
    snr: se === 0 ? Infinity : 10 * Math.log10(aa / se),
    agree: agree / rows,
  };
}

async function fidelity(): Promise<void> {
  console.log('\n## Fidelity per scheme and model (4 seeded inputs each)\n');
  console.log('| model | scheme | size ratio | cosine | SNR dB | top-1 agreement |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const f of Object.values(FIXTURES)) {
    const original = readOnnx(fixtureBytes(f)).proto;
    const probe = f.name === 'det' ? withDetLogits(original) : undefined;
    const originalBytes = writeOnnx(original);
    const refs: Record<string, Float32Array>[] = [];
    for (let s = 0; s < 4; s++) refs.push(await runModel(originalBytes, f.feeds(100 + s)));
    const key = probe ?? Object.keys(refs[0]!)[0]!;
    for (const [scheme, opts] of FIDELITY_SCHEMES) {
      let bytes: Uint8Array;
      try {
        bytes = writeOnnx((await quantizeModel(original, scheme, opts)).model);
      } catch (e) {
        console.log(
          `| ${f.name} | ${label(scheme, opts)} | refused: ${(e as Error).message.split(': ').slice(-1)[0]!.slice(0, 90)} | | | |`,
        );
        continue;
      }
      const acc: Stats = { cos: 0, snr: 0, agree: 0 };
      for (let s = 0; s < 4; s++) {
        const out = await runModel(bytes, f.feeds(100 + s));
        const ref = refs[s]![key]!;
        const cols = f.name === 'rec' ? 6625 : f.name === 'cls' ? 2 : 1;
        const st = compare(f.name, ref, out[key]!, cols);
        acc.cos += st.cos / 4;
        acc.snr += st.snr / 4;
        acc.agree += st.agree / 4;
      }
      console.log(
        `| ${f.name} | ${label(scheme, opts)} | ${(bytes.length / fixtureBytes(f).length).toFixed(3)} | ${acc.cos.toFixed(5)} | ${Number.isFinite(acc.snr) ? acc.snr.toFixed(1) : 'inf'} | ${(acc.agree * 100).toFixed(2)}% |`,
      );
    }
  }
}

/**
 * PP-OCRv4 det carries outliers: a BatchNormalization variance up to 9.8e7
 * and depthwise conv weights up to 45 where the typical std is ~1. What
 * per-channel scales, calibration clipping and the float16 overflow policy
 * do to its logit map.
 */
async function detOutliers(): Promise<void> {
  const f = FIXTURES.det;
  const original = readOnnx(fixtureBytes(f)).proto;
  const key = withDetLogits(original)!;
  const originalBytes = writeOnnx(original);
  const feeds = [0, 1, 2, 3].map((s) => f.feeds(200 + s));
  const refs = await Promise.all(feeds.map((x) => runModel(originalBytes, x)));
  const calibration = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => {
    const x = f.feeds(300 + s).x!;
    return { x: { dtype: 'float32', shape: x.dims, data: x.data as Float32Array } };
  });
  const cases: [string, string, object][] = [
    ['int8 weight-only, per-tensor', 'int8', {}],
    ['int8 weight-only, per-channel', 'int8', { perChannel: true, symmetric: true }],
    ['static, minmax ranges', 'static', { calibration, calibMethod: 'minmax', openRunner: createNodeRunner }],
    [
      'static, percentile 99.99 (clips activations)',
      'static',
      { calibration, calibMethod: 'percentile', calibPercentile: 99.99, openRunner: createNodeRunner },
    ],
    ['static, mse (clips activations)', 'static', { calibration, calibMethod: 'mse', openRunner: createNodeRunner }],
    ['fp16, out-of-range constants kept float32', 'fp16', { overflow: 'keep' }],
    ['fp16, out-of-range constants clamped to ±65504', 'fp16', { overflow: 'clamp' }],
    ['fp16-weights, every tensor (--min-size 0)', 'fp16-weights', { minSize: 0 }],
  ];
  console.log('\n## PP-OCRv4 det outliers (logit map before the Sigmoid, 4 seeded inputs)\n');
  console.log('| setting | size ratio | cosine | SNR dB | mask agreement |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, scheme, opts] of cases) {
    const bytes = writeOnnx((await quantizeModel(original, scheme, opts)).model);
    const acc: Stats = { cos: 0, snr: 0, agree: 0 };
    for (let s = 0; s < 4; s++) {
      const st = compare('det', refs[s]![key]!, (await runModel(bytes, feeds[s]!))[key]!, 1);
      acc.cos += st.cos / 4;
      acc.snr += st.snr / 4;
      acc.agree += st.agree / 4;
    }
    console.log(
      `| ${name} | ${(bytes.length / fixtureBytes(f).length).toFixed(3)} | ${acc.cos.toFixed(5)} | ${acc.snr.toFixed(1)} | ${(acc.agree * 100).toFixed(2)}% |`,
    );
  }
}

const only = process.argv[2];
if (!only || only === 'speed') await speed();
if (!only || only === 'fidelity') await fidelity();
if (!only || only === 'det') await detOutliers();
