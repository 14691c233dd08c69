import { describe, expect, it } from 'vitest';
import type { TypeProto_Tensor } from 'onnx-buf';
import { distill } from '../../src/compress/distill.js';
import { datasetLogits } from '../../src/train/trainer.js';
import { buildStudent, isStudentArch, type mlpStudent } from '../../src/compress/students.js';
import { compressibleLayers } from '../../src/compress/layers.js';
import { getInitializerValues } from '../../src/graph/model-edit.js';
import { evaluateModel, train } from '../../src/train/trainer.js';
import { fashion, openRunner, runInOrt, trainedZoo } from './helpers.js';

const paramCount = (m: ReturnType<typeof mlpStudent>) =>
  m.graph!.initializer.reduce((a, t) => a + t.dims.reduce((x, d) => x * Number(d), 1), 0);

describe('distill: knowledge distillation', () => {
  it('builds MLP students by name', async () => {
    expect(isStudentArch('mlp-32')).toBe(true);
    expect(isStudentArch('mlp-64-32')).toBe(true);
    expect(isStudentArch('lenet-5')).toBe(true);
    expect(isStudentArch('mlp')).toBe(false);
    expect(paramCount(buildStudent('mlp-32'))).toBe(784 * 32 + 32 + 32 * 10 + 10);
    expect(paramCount(buildStudent('mlp-64-32'))).toBe(784 * 64 + 64 + 64 * 32 + 32 + 330);
    expect(() => buildStudent('mlp-0')).toThrow(/hidden sizes/);
    expect(() => buildStudent('resnet')).toThrow(/unknown student architecture 'resnet'/);
    expect((await runInOrt(buildStudent('mlp-16'), 3)).length).toBe(30);
  });

  it('teacher logits over a dataset agree with onnxruntime batch by batch', async () => {
    const teacher = buildStudent('mlp-16', 4);
    const { test } = fashion(10, 8);
    const r = await datasetLogits(openRunner, teacher, test, { batchSize: 3 });
    expect(r.classes).toBe(10);
    const direct = await runInOrt(teacher, 8);
    for (let i = 0; i < direct.length; i++) expect(r.logits[i]).toBeCloseTo(direct[i]!, 5);
    expect(r.accuracy).toBe((await evaluateModel(openRunner, teacher, test)).accuracy);
  });

  it('feeds each example its own teacher logits: a student equal to its teacher gets zero KL gradient and does not move', async () => {
    const model = buildStudent('mlp-16', 5);
    const { train: data } = fashion(500, 10);
    const r = await distill({
      openRunner,
      teacher: model,
      student: model,
      train: data,
      temperature: 3,
      alpha: 1,
      epochs: 1,
      batchSize: 50,
      optimizer: { name: 'sgd', lr: 0.5 },
    });
    const names = compressibleLayers(model).map((l) => l.name);
    const before = getInitializerValues(model, names);
    const after = getInitializerValues(r.model, names);
    for (const n of names) {
      const a = before.get(n)!;
      const b = after.get(n)!;
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
    }
    // a different teacher does move it
    const other = await distill({
      openRunner,
      teacher: buildStudent('mlp-16', 6),
      student: model,
      train: data,
      temperature: 3,
      alpha: 1,
      epochs: 1,
      batchSize: 50,
      optimizer: { name: 'sgd', lr: 0.5 },
    });
    const moved = getInitializerValues(other.model, names).get(names[0]!)!;
    expect(moved.some((v, i) => Math.abs(v - before.get(names[0]!)![i]!) > 1e-4)).toBe(true);
  });

  it('alpha = 0 is plain label training (same epochs and seed give the same weights)', async () => {
    const { train: data } = fashion(600, 10);
    const student = buildStudent('mlp-16', 7);
    const teacher = buildStudent('mlp-32', 8);
    const kd = await distill({ openRunner, teacher, student, train: data, temperature: 2, alpha: 0, epochs: 1, seed: 3 });
    const plain = await train({ openRunner, model: student, train: data, epochs: 1, seed: 3, restoreBest: false });
    const w1 = getInitializerValues(kd.model, ['fc1.weight']).get('fc1.weight')!;
    const w2 = getInitializerValues(plain.model, ['fc1.weight']).get('fc1.weight')!;
    for (let i = 0; i < w1.length; i += 97) expect(w1[i]).toBeCloseTo(w2[i]!, 5);
  });

  it('a distilled student learns from a trained teacher and reports both accuracies', async () => {
    const teacher = await trainedZoo('lenet-300-100', 1, 4000);
    const { train: data, test } = fashion(4000, 1000);
    const r = await distill({
      openRunner,
      teacher,
      student: buildStudent('mlp-32', 0),
      train: data,
      test,
      temperature: 2,
      alpha: 0.5,
      epochs: 1,
    });
    expect(r.teacherTest!.accuracy).toBeGreaterThan(0.6);
    expect(r.studentTest!.accuracy).toBeGreaterThan(0.5);
    expect(r.teacherTrainAccuracy).toBeGreaterThan(0.6);
    expect(r.history[0]!.trainLoss).toBeGreaterThan(0);
  });

  it('rejects bad temperature, alpha and mismatched class counts', async () => {
    const { train: data } = fashion(100, 10);
    const s = buildStudent('mlp-16');
    await expect(distill({ openRunner, teacher: s, student: s, train: data, temperature: 0, alpha: 0.5, epochs: 1 })).rejects.toThrow(
      /temperature must be a finite number > 0/,
    );
    await expect(distill({ openRunner, teacher: s, student: s, train: data, temperature: 2, alpha: 1.5, epochs: 1 })).rejects.toThrow(
      /alpha must be in \[0, 1\]/,
    );
    const five = buildStudent('mlp-16');
    (five.graph!.output[0]!.type!.value.value as TypeProto_Tensor).shape!.dim[1]!.value = { case: 'dimValue', value: 5n };
    await expect(distill({ openRunner, teacher: s, student: five, train: data, epochs: 1 })).rejects.toThrow(
      /teacher has 10 output classes, student 5/,
    );
  });
});
