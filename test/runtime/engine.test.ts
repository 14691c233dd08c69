/** The runner layer's single decisions: session options, load-error mapping, zero-copy feeds, the classifier pass. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { argmax, classifierLogits } from '../../src/runtime/classifier.js';
import { createOrtRunner, type OrtModuleLike } from '../../src/runtime/ort-session.js';
import { type Runner, TRAINING_RUNNER_OPTIONS } from '../../src/runtime/runner.js';
import { floatTensor, floatValues } from '../../src/runtime/tensors.js';

/** y = x * w (elementwise), w a graph input. */
function scaleModel(): Uint8Array {
  const b = new GraphBuilder();
  b.input('x', 'float32', ['N', 3]);
  b.input('w', 'float32', [3]);
  b.node('Mul', ['x', 'w'], { outputs: ['y'] });
  b.output('y', 'float32', ['N', 3]);
  return writeOnnx(makeModel(b.graph));
}

/** A module that records the options it is asked to create a session with. */
function recordingModule(seen: Record<string, unknown>[], fail = false): OrtModuleLike {
  return {
    InferenceSession: {
      create: async (_model, options) => {
        seen.push(options ?? {});
        if (fail) throw new Error('bad graph\nsecond line');
        return { inputNames: [], outputNames: [], run: async () => ({}), release: async () => {} };
      },
    },
    Tensor: class {
      constructor(
        readonly type: string,
        readonly data: unknown,
        readonly dims: readonly number[],
      ) {}
    },
  };
}

describe('runner layer', () => {
  it("keeps onnxruntime's spinning for inference and turns it off for training-side sessions", async () => {
    const seen: Record<string, unknown>[] = [];
    await createOrtRunner(recordingModule(seen), new Uint8Array(1), { intraOpThreads: 2 });
    await createOrtRunner(recordingModule(seen), new Uint8Array(1), TRAINING_RUNNER_OPTIONS);
    expect(seen[0]!.extra).toBeUndefined();
    expect(seen[0]!.intraOpNumThreads).toBe(2);
    expect(seen[1]).toMatchObject({ graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } });
  });

  it('maps a load failure once: E_FORMAT for a given model, E_GRAPH naming a generated one', async () => {
    await expect(createOrtRunner(recordingModule([], true), new Uint8Array(1), { file: 'm.onnx' })).rejects.toMatchObject({
      code: 'E_FORMAT',
      message: expect.stringMatching(/m\.onnx: onnxruntime cannot load the model: bad graph$/),
    });
    await expect(createOrtRunner(recordingModule([], true), new Uint8Array(1), { generated: 'the training graph' })).rejects.toMatchObject({
      code: 'E_GRAPH',
      message: expect.stringMatching(/onnxruntime cannot load the training graph: bad graph$/),
    });
  });

  it('feeds live Float32Arrays without copies: in-place updates are seen by the next run', async () => {
    const w = Float32Array.of(1, 2, 3);
    const wt = floatTensor(w, [3]);
    expect(wt.data.buffer).toBe(w.buffer);
    const r = await createNodeRunner(scaleModel());
    try {
      const x = floatTensor(Float32Array.of(1, 1, 1, 2, 2, 2), [2, 3]);
      expect(Array.from(floatValues((await r.run({ x, w: wt })).y!))).toEqual([1, 2, 3, 2, 4, 6]);
      w[1] = 10;
      expect(Array.from(floatValues((await r.run({ x, w: wt })).y!))).toEqual([1, 10, 3, 2, 20, 6]);
    } finally {
      await r.dispose();
    }
  });

  it('classifierLogits: batches, arg-max accuracy, mean cross-entropy, kept logits, label checks', async () => {
    // logits = x itself: 3 classes
    const runner: Runner = {
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }],
      run: async (feeds) => ({ y: feeds.x! }),
      dispose: async () => {},
    };
    const inputs = Float32Array.of(0, 5, 1, 3, 0, 0, 0, 0, 2, 1, 1, 1);
    const data = { inputs, labels: Int32Array.of(1, 0, 1, 2), count: 4, sampleShape: [3] };
    const io = { inputName: 'x', outputName: 'y', feedShape: [3] };
    const r = await classifierLogits(runner, data, io, { batchSize: 3, keepLogits: true });
    expect(r.accuracy).toBe(0.5);
    expect(r.classes).toBe(3);
    expect(Array.from(r.logits!)).toEqual(Array.from(inputs));
    const ce = (row: number[], label: number) => Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[label]!;
    const expected = (ce([0, 5, 1], 1) + ce([3, 0, 0], 0) + ce([0, 0, 2], 1) + ce([1, 1, 1], 2)) / 4;
    expect(r.loss).toBeCloseTo(expected, 12);
    expect(argmax(Float32Array.of(1, 1, 1), 0, 3)).toBe(0);
    const bad = { ...data, labels: Int32Array.of(1, 0, 7, 2) };
    await expect(classifierLogits(runner, bad, io, { strictLabels: true })).rejects.toThrow(
      /label 7 of example 2 is out of range for 3 output classes/,
    );
    expect((await classifierLogits(runner, bad, io)).accuracy).toBe(0.5);
    expect((await classifierLogits(runner, { ...data, labels: undefined }, io)).accuracy).toBe(0);
  });
});
