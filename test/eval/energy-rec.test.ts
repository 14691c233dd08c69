/**
 * PP-OCRv4 rec as float32, fp16, int8 static QDQ and int4 (MatMulNBits)
 * side by side (bench/energy.ts prints the table in docs/RESULTS.md): every
 * node is counted, every version has the same MACs, and the energy per MAC
 * follows the table: int4 < int8 < float16 < float32.
 */
import { describe, expect, it } from 'vitest';
import { estimateEnergy, type EnergyEstimate } from '../../src/eval/energy.js';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { convertFp16 } from '../../src/quantize/fp16.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { quantizeStatic } from '../../src/quantize/static/index.js';
import { FIXTURES, loadFixture, nodeRunner } from '../../support/quantize-fixtures.js';

const perMac = (e: EnergyEstimate, type: string) =>
  e.layers.filter((l) => l.type === type && l.ops.mac > 0).reduce((a, l) => a + l.computeUJ, 0) / e.macsByType[type]!;

describe('energy of PP-OCRv4 rec by precision', () => {
  it('float32 > fp16 > int8 in compute, int4 MatMulNBits cheapest per MAC, every quantized version below float32', async () => {
    const model = readOnnx(loadFixture(FIXTURES.rec)).proto;
    const shapes = { x: [1, 3, 48, 320] };
    const est = (m: typeof model) => estimateEnergy(readOnnx(writeOnnx(m)).proto, { shapes });
    const f32 = est(model);
    const f16 = est((await convertFp16(model, { openRunner: nodeRunner })).model);
    const i8 = est((await quantizeStatic(model, { calibration: [FIXTURES.rec.feed(0)], openRunner: nodeRunner })).model);
    const i4 = est((await quantizeModel(model, 'int4', { blockSize: 32 })).model);
    for (const e of [f32, f16, i8, i4]) {
      expect(e.notCounted).toEqual([]);
      expect(e.macs).toBe(f32.macs);
    }
    expect(f32.macsByType).toEqual({ float32: f32.macs });
    expect(f16.macsByType).toEqual({ float16: f32.macs });
    expect(i8.macsByType).toEqual({ int8: f32.macs });
    expect(i4.macsByType.int4).toBeGreaterThan(0);
    expect(f16.computeUJ).toBeLessThan(f32.computeUJ);
    expect(i8.computeUJ).toBeLessThan(f16.computeUJ);
    expect(perMac(i4, 'int4')).toBeLessThan(perMac(i8, 'int8'));
    expect(perMac(i8, 'int8')).toBeLessThan(perMac(f16, 'float16'));
    expect(perMac(f16, 'float16')).toBeLessThan(perMac(f32, 'float32'));
    for (const e of [f16, i8, i4]) {
      expect(e.totalUJ).toBeLessThan(f32.totalUJ);
      expect(e.weightBytes).toBeLessThan(f32.weightBytes);
    }
  }, 120_000);
});
