/**
 * The energy estimate against hand calculations with the default (Horowitz
 * 45 nm) table: pJ per op float32 mul 3.7 / add 0.9, int8 mul 0.2, int32 add
 * 0.1; per 64-bit access 10 pJ (<= 8 KB), 20 pJ (<= 32 KB), 100 pJ (<= 1 MB),
 * 1300 pJ (DRAM). Each tensor costs ceil(bytes / 8) accesses at its level.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { estimateEnergy } from '../../src/eval/energy.js';
import { HOROWITZ_45NM, parseEnergyTable, withMemorySpec } from '../../src/eval/energy-table.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';

const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 9);

function gemmModel(zeroHalf = false) {
  const b = new GraphBuilder();
  b.input('x', 'float32', [1, 64]);
  const w = Float32Array.from({ length: 64 * 32 }, (_, i) => (zeroHalf && i % 2 === 0 ? 0 : 0.01 * ((i % 7) + 1)));
  const W = b.initializer('W', 'float32', [64, 32], w);
  const B = b.initializer('B', 'float32', [32], new Float32Array(32).fill(0.5));
  b.node('Gemm', ['x', W, B], { outputs: ['y'] });
  b.output('y', 'float32', [1, 32]);
  return makeModel(b.graph);
}

function convModel() {
  const b = new GraphBuilder();
  b.input('x', 'float32', ['batch', 3, 16, 16]);
  const W = b.initializer('W', 'float32', [16, 3, 3, 3], new Float32Array(16 * 27).fill(0.1));
  b.node('Conv', ['x', W], { outputs: ['y'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } });
  b.output('y', 'float32');
  return makeModel(b.graph);
}

/** x -> Q -> DQ -> Conv(int8 W via DQ) -> Q -> DQ -> out. */
function qdqConvModel() {
  const b = new GraphBuilder();
  b.input('x', 'float32', [1, 3, 16, 16]);
  const s = b.initializer('s', 'float32', [], new Float32Array([0.02]));
  const zp = b.initializer('zp', 'uint8', [], new Uint8Array([128]));
  const W = b.initializer(
    'W',
    'int8',
    [16, 3, 3, 3],
    Int8Array.from({ length: 16 * 27 }, (_, i) => (i % 5) - 2),
  );
  const ws = b.initializer('ws', 'float32', [], new Float32Array([0.01]));
  const wzp = b.initializer('wzp', 'int8', [], new Int8Array([0]));
  const ys = b.initializer('ys', 'float32', [], new Float32Array([0.05]));
  const yzp = b.initializer('yzp', 'uint8', [], new Uint8Array([128]));
  b.node('QuantizeLinear', ['x', s, zp], { outputs: ['xq'] });
  b.node('DequantizeLinear', ['xq', s, zp], { outputs: ['xf'] });
  b.node('DequantizeLinear', [W, ws, wzp], { outputs: ['wf'] });
  b.node('Conv', ['xf', 'wf'], { outputs: ['y'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } });
  b.node('QuantizeLinear', ['y', ys, yzp], { outputs: ['yq'] });
  b.node('DequantizeLinear', ['yq', ys, yzp], { outputs: ['out'] });
  b.output('out', 'float32');
  return makeModel(b.graph);
}

describe('estimateEnergy against hand calculations', () => {
  it('one Gemm: MACs, bias adds, a weight of exactly 8 KB in the 8 KB SRAM', () => {
    const e = estimateEnergy(gemmModel());
    // MACs 1*32*64 = 2048 at 3.7 + 0.9; bias 32 adds at 0.9
    const compute = 2048 * (3.7 + 0.9) + 32 * 0.9; // 9449.6 pJ
    // x 256 B: 32 acc; W 8192 B: 1024 acc; B 128 B: 16 acc; y 128 B: 16 acc; all at 10 pJ
    const memory = (32 + 1024 + 16 + 16) * 10; // 10880 pJ
    expect(e.macs).toBe(2048);
    close(e.computeUJ, compute / 1e6);
    close(e.memoryUJ, memory / 1e6);
    close(e.totalUJ, (compute + memory) / 1e6);
    expect(e.weightBytes).toBe(8192 + 128);
    expect(e.activationBytes).toBe(256 + 128);
    expect(e.sparse).toBeUndefined();
    expect(e.notCounted).toEqual([]);
    expect(e.layers).toHaveLength(1);
  });

  it('one Conv: symbolic batch resolved to 1, the output in the 32 KB SRAM', () => {
    const e = estimateEnergy(convModel());
    // y [1,16,16,16]: 4096 outputs x 3*3*3 = 110592 MACs
    const compute = 110592 * (3.7 + 0.9); // 508723.2 pJ
    // x 3072 B: 384 acc x 10; W 1728 B: 216 acc x 10; y 16384 B: 2048 acc x 20
    const memory = 384 * 10 + 216 * 10 + 2048 * 20; // 46960 pJ
    expect(e.macs).toBe(110592);
    close(e.computeUJ, compute / 1e6);
    close(e.memoryUJ, memory / 1e6);
    // batch 2 doubles the MACs
    expect(estimateEnergy(convModel(), { dims: { batch: 2 } }).macs).toBe(2 * 110592);
  });

  it('a Conv in int8 QDQ: int8 MACs accumulated in int32, the QDQ pairs around it folded', () => {
    const e = estimateEnergy(qdqConvModel());
    // QuantizeLinear of x (768 elements, float32): 768 mul, 768 add, 3*768 cmp (round, clip)
    const qx = 768 * 3.7 + 768 * 0.9 + 2304 * 0.9; // 5606.4
    // reads x 3072 B (384 acc), s 4 B (1), zp 1 B (1); writes xq 768 B (96)
    const qxMem = (384 + 1 + 1 + 96) * 10; // 4820
    // Conv: 110592 int8 MACs at 0.2 + 0.1 (int32 add)
    const conv = 110592 * (0.2 + 0.1); // 33177.6
    // reads xq 768 B (96), s, zp, W 432 B int8 (54), ws, wzp; writes yq 4096 B uint8 (512)
    const convMem = (96 + 1 + 1 + 54 + 1 + 1 + 512) * 10; // 6660
    // the last DequantizeLinear (a graph output): 4096 mul + 4096 add in float32
    const dq = 4096 * (3.7 + 0.9); // 18841.6
    // reads yq 4096 B (512), ys, yzp at 10; writes out 16384 B (2048 acc at 20)
    const dqMem = (512 + 1 + 1) * 10 + 2048 * 20; // 46100
    expect(e.macsByType).toEqual({ int8: 110592 });
    close(e.computeUJ, (qx + conv + dq) / 1e6);
    close(e.memoryUJ, (qxMem + convMem + dqMem) / 1e6);
    expect(e.layers.map((l) => `${l.op}:${l.type}`)).toEqual(['QuantizeLinear:float32', 'Conv:int8', 'DequantizeLinear:float32']);
    // weight zeros are int8 values equal to the zero point: (i % 5) - 2 = 0 at i = 2, 7, ..., 427: 86 of 432
    const conv8 = e.layers[1]!;
    expect(conv8.sparse?.macs).toBeCloseTo(110592 * (1 - 86 / 432), 6);
  });

  it('ideally sparse: zero weights skip their MACs and weight reads, dense left as is', () => {
    const e = estimateEnergy(gemmModel(true));
    expect(e.macs).toBe(2048);
    expect(e.sparse?.macs).toBe(1024);
    expect(e.sparse?.weightBytes).toBe(4096 + 128);
    const compute = 1024 * 4.6 + 32 * 0.9;
    const memory = (32 + 512 + 16 + 16) * 10;
    close(e.sparse!.totalUJ, (compute + memory) / 1e6);
  });

  it('memory levels from --energy-memory: the 8 KB weight moves to DRAM when the SRAM is 4 KB', () => {
    const table = withMemorySpec(HOROWITZ_45NM, '4K=10,dram=2000');
    const e = estimateEnergy(gemmModel(), { table });
    close(e.memoryUJ, ((32 + 16 + 16) * 10 + 1024 * 2000) / 1e6);
    expect(() => withMemorySpec(HOROWITZ_45NM, '8K')).toThrow(/--energy-memory/);
  });
});

describe('energy tables', () => {
  it('a table missing a type the model needs is an E_ARG naming the file and the type', () => {
    const noFloat = parseEnergyTable(
      JSON.stringify({ compute: { int8: { mul: 0.2, add: 0.03 }, int32: { mul: 3.1, add: 0.1 } } }),
      't.json',
    );
    const err = (() => {
      try {
        estimateEnergy(gemmModel(), { table: noFloat, tableFile: 't.json' });
      } catch (e) {
        return e;
      }
    })() as ModelpressError;
    expect(err).toBeInstanceOf(ModelpressError);
    expect(err.code).toBe('E_ARG');
    expect(err.message).toMatch(/^t\.json: .*float32/);
    const noAcc = parseEnergyTable(
      JSON.stringify({ compute: { float32: { mul: 3.7, add: 0.9 }, int8: { mul: 0.2, add: 0.03 } } }),
      'u.json',
    );
    expect(() => estimateEnergy(qdqConvModel(), { table: noAcc, tableFile: 'u.json' })).toThrow(/u\.json: .*int32/);
    // the int8 model does not need float16: a table without it is fine
    expect(
      estimateEnergy(qdqConvModel(), { table: parseEnergyTable('{"sram":[{"bytes":1024,"pJ":5}]}', 'v.json') }).memoryUJ,
    ).toBeGreaterThan(0);
  });

  it('rejects malformed tables with E_FORMAT', () => {
    for (const text of [
      'nope',
      '[]',
      '{"compute":{"float32":{"mul":-1,"add":1}}}',
      '{"sram":[{"bytes":64,"pJ":1},{"bytes":32,"pJ":1}]}',
      '{"accessBits":12}',
    ])
      expect(() => parseEnergyTable(text, 'bad.json')).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
  });
});

describe('energy properties', () => {
  it('a MatMul [m,k] x [k,n]: m*k*n MACs; compute scales with the MACs, memory by the level of each tensor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (m, k, n) => {
        const b = new GraphBuilder();
        b.input('a', 'float32', [m, k]);
        const W = b.initializer('W', 'float32', [k, n], new Float32Array(k * n).fill(1));
        b.node('MatMul', ['a', W], { outputs: ['y'] });
        b.output('y', 'float32');
        const e = estimateEnergy(makeModel(b.graph));
        expect(e.macs).toBe(m * k * n);
        close(e.computeUJ, (m * k * n * 4.6) / 1e6);
        const level = (bytes: number) => Math.ceil(bytes / 8) * (bytes <= 8192 ? 10 : bytes <= 32768 ? 20 : 100);
        close(e.memoryUJ, (level(4 * m * k) + level(4 * k * n) + level(4 * m * n)) / 1e6);
      }),
      { numRuns: 60 },
    );
  });

  it('hostile tables: any JSON either parses to non-negative figures or is E_FORMAT', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify({
          compute: v,
          sram: Array.isArray(v) ? v : undefined,
          accessBits: typeof v === 'number' ? v : undefined,
        });
        try {
          const t = parseEnergyTable(text, 'h.json');
          for (const c of Object.values(t.compute)) expect(c.mul >= 0 && c.add >= 0).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ModelpressError);
          expect((e as ModelpressError).code).toBe('E_FORMAT');
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('energy on odd graphs', () => {
  it('malformed or unknown nodes are listed in notCounted, not guessed and not a crash', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 3, 8, 8]);
    b.node('ConvInteger', ['x'], { outputs: ['a'] });
    b.node('MyCustomOp', ['x'], { outputs: ['c'], domain: 'com.example' });
    b.node('Relu', ['missing'], { outputs: ['r'] });
    b.node('Relu', ['x'], { outputs: ['ok'] });
    b.output('ok', 'float32');
    const e = estimateEnergy(makeModel(b.graph));
    expect(e.notCounted).toEqual(expect.arrayContaining([expect.stringContaining('ConvInteger'), expect.stringContaining('MyCustomOp')]));
    expect(e.notCounted.some((s) => s.includes('Relu'))).toBe(true);
    // the one well-formed Relu: 192 comparisons at 0.9 pJ
    const relu = e.layers.find((l) => l.op === 'Relu' && l.ops.cmp > 0)!;
    expect(relu.ops.cmp).toBe(192);
    close(relu.computeUJ, (192 * 0.9) / 1e6);
  });
});
