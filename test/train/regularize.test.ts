import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ModelpressError } from '../../src/core/errors.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { Sgd, groupNorms, groupShrink, groupsAlong, softThreshold } from '../../src/train/optim/index.js';
import { batchNormScaleNames, checkPenalty, countZeros, proximalSteps, withProximalSteps } from '../../src/train/regularize.js';
import { train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { fashionSubsets } from './trainer-fixtures.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const vec = fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 24 });
const tau = fc.float({ min: 0, max: 5, noNaN: true, noDefaultInfinity: true });

/** ½‖x − v‖² + t·‖x‖₁ in float64. */
function l1Objective(x: ArrayLike<number>, v: ArrayLike<number>, t: number): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += 0.5 * (x[i]! - v[i]!) ** 2 + t * Math.abs(x[i]!);
  return s;
}

/** ½‖x − v‖² + t·Σ_g ‖x_g‖₂. */
function groupObjective(x: Float32Array, v: Float32Array, layout: { count: number; inner: number }, t: number): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += 0.5 * (x[i]! - v[i]!) ** 2;
  for (const n of groupNorms(x, layout)) s += t * n;
  return s;
}

describe('soft-thresholding (proximal step of L1)', () => {
  it('equals the closed form sign(v)·max(|v| − t, 0)', () => {
    const w = f32([3, -3, 0.5, -0.5, 1, -1, 0, 2.25]);
    softThreshold(w, 1);
    expect([...w]).toEqual([2, -2, 0, 0, 0, 0, 0, 1.25]);
    fc.assert(
      fc.property(vec, tau, (v, t) => {
        const w2 = f32(v);
        softThreshold(w2, t);
        for (let i = 0; i < v.length; i++) {
          const x = Math.fround(v[i]!);
          const want = Math.sign(x) * Math.max(Math.abs(x) - t, 0);
          expect(w2[i]).toBeCloseTo(want, 5);
        }
      }),
    );
  });

  it('is the argmin of ½‖x − v‖² + t‖x‖₁: no perturbation lowers the objective', () => {
    fc.assert(
      fc.property(vec, tau, fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 24, maxLength: 24 }), (v, t, d) => {
        const vv = f32(v);
        const x = Float32Array.from(vv);
        softThreshold(x, t);
        const best = l1Objective(x, vv, t);
        for (const eps of [1e-2, 1e-1, 1]) {
          const y = Array.from(x, (xi, i) => xi + eps * d[i]!);
          expect(l1Objective(y, vv, t)).toBeGreaterThanOrEqual(best - 1e-4);
        }
        // Coordinate-wise optimality (subgradient condition): 0 ∈ x − v + t·∂|x|.
        for (let i = 0; i < x.length; i++) {
          if (x[i] === 0) expect(Math.abs(vv[i]!)).toBeLessThanOrEqual(t + 1e-6);
          else expect(x[i]! - vv[i]! + t * Math.sign(x[i]!)).toBeCloseTo(0, 4);
        }
      }),
    );
  });

  it('writes exact zeros (+0) for every |v| <= t and leaves t = 0 unchanged', () => {
    const w = f32([0.1, -0.1, 0.19, -0.3]);
    softThreshold(w, 0.2);
    expect(Object.is(w[0], 0) && Object.is(w[1], 0) && Object.is(w[2], 0)).toBe(true);
    expect(w[3]).toBeCloseTo(-0.1, 6);
    const u = f32([1, -2]);
    softThreshold(u, 0);
    expect([...u]).toEqual([1, -2]);
  });
});

describe('block soft-thresholding (proximal step of the group lasso)', () => {
  it('scales each group by max(0, 1 − t/‖g‖) and zeroes whole groups', () => {
    // [3, 2] along axis 0: groups are rows [3, 4], [0.3, 0.4], [-6, 8].
    const w = f32([3, 4, 0.3, 0.4, -6, 8]);
    groupShrink(w, groupsAlong([3, 2], 0), 1);
    expect(w[0]).toBeCloseTo(3 * 0.8, 6);
    expect(w[1]).toBeCloseTo(4 * 0.8, 6);
    expect([w[2], w[3]]).toEqual([0, 0]);
    expect(w[4]).toBeCloseTo(-6 * 0.9, 6);
    expect(w[5]).toBeCloseTo(8 * 0.9, 6);
    // Along axis 1 of [2, 3]: columns are the groups.
    const c = f32([3, 0.1, 1, 4, 0.1, 0]);
    groupShrink(c, groupsAlong([2, 3], 1), 0.5);
    expect([c[1], c[4]]).toEqual([0, 0]);
    expect(c[0]).toBeCloseTo(3 * 0.9, 6);
    expect(c[2]).toBeCloseTo(0.5, 6);
  });

  it('is the argmin of ½‖x − v‖² + t·Σ‖x_g‖ (random layouts, random perturbations)', () => {
    const layout = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }));
    fc.assert(
      fc.property(layout, tau, fc.integer({ min: 0, max: 2 ** 31 - 1 }), ([outer, count, inner], t, seed) => {
        const n = outer * count * inner;
        let s = seed;
        const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
        const v = Float32Array.from({ length: n }, () => 3 * rnd());
        const g = { count, inner };
        const x = Float32Array.from(v);
        groupShrink(x, g, t);
        const best = groupObjective(x, v, g, t);
        for (let k = 0; k < 6; k++) {
          const eps = [1e-3, 1e-2, 0.3][k % 3]!;
          const y = Float32Array.from(x, (xi) => xi + eps * rnd());
          expect(groupObjective(y, v, g, t)).toBeGreaterThanOrEqual(best - 1e-4);
        }
        const norms = groupNorms(v, g);
        const after = groupNorms(x, g);
        for (let k = 0; k < count; k++) {
          if (norms[k]! <= t) expect(after[k]).toBe(0);
          else expect(after[k]).toBeCloseTo(norms[k]! - t, 4);
        }
      }),
    );
  });

  it('rejects a layout that does not tile the tensor and an axis out of range', () => {
    expect(() => groupShrink(f32([1, 2, 3]), { count: 2, inner: 1 }, 1)).toThrow(ModelpressError);
    expect(() => groupsAlong([2, 3], 2)).toThrow(/out of range/);
  });
});

describe('penalties on models', () => {
  it('negative or NaN lambda is E_ARG naming the flag', () => {
    for (const [p, flag] of [
      [{ l1: -1e-4 }, '--l1'],
      [{ groupLasso: Number.NaN }, '--group-lasso'],
      [{ slimming: Number.POSITIVE_INFINITY }, '--slimming'],
    ] as const) {
      let err: unknown;
      try {
        checkPenalty(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ModelpressError);
      expect((err as ModelpressError).code).toBe('E_ARG');
      expect(String((err as Error).message)).toContain(flag);
    }
    expect(() => checkPenalty({ l1: 0, groupLasso: 1e-3 })).not.toThrow();
  });

  it('picks Gemm/Conv weights for L1 and group lasso, BatchNormalization scales for slimming', () => {
    const lenet = buildZooModel('lenet-300-100', { seed: 0 });
    const steps = proximalSteps(lenet, { l1: 1e-4, groupLasso: 1e-3 });
    const weightNames = lenet.graph!.initializer.filter((t) => t.dims.length === 2).map((t) => t.name);
    expect([...steps.keys()].sort()).toEqual(weightNames.sort());
    expect(() => proximalSteps(lenet, { slimming: 1e-4 })).toThrow(/BatchNormalization/);
    const cnn = buildZooModel('cnn-bn', { seed: 0 });
    const scales = batchNormScaleNames(cnn);
    expect(scales.length).toBeGreaterThan(0);
    expect([...proximalSteps(cnn, { slimming: 1e-4 }).keys()].sort()).toEqual([...scales].sort());
  });

  it('the optimizer applies the step after the update: SGD with zero gradient is pure soft-thresholding', () => {
    const data = f32([0.5, -0.04, 0.02, -2]);
    const opt = new Sgd([{ name: 'w', data }], { lr: 0.1 });
    opt.setProximal('w', (w, lr) => softThreshold(w, lr * 0.5));
    opt.step({ w: new Float32Array(4) });
    expect(data[0]).toBeCloseTo(0.45, 6);
    expect([data[1], data[2]]).toEqual([0, 0]);
    expect(data[3]).toBeCloseTo(-1.95, 6);
  });

  it('training LeNet-300-100 with --l1 reaches exact zeros; group lasso zeroes whole output units', async () => {
    const { train: data } = fashionSubsets(0, 1024, 0);
    const model = buildZooModel('lenet-300-100', { seed: 3 });
    const base = (params: import('../../src/train/optim/index.js').Param[]) => new Sgd(params, { lr: 0.05, momentum: 0.9 });
    const weightNames = model.graph!.initializer.filter((t) => t.dims.length === 2).map((t) => t.name);
    const plain = await train({ openRunner: createNodeRunner, model, train: data, epochs: 1, optimizer: base, seed: 1 });
    expect(countZeros(plain.weights, weightNames).zeros).toBe(0);
    const l1 = await train({
      openRunner: createNodeRunner,
      model,
      train: data,
      epochs: 1,
      seed: 1,
      optimizer: withProximalSteps(base, proximalSteps(model, { l1: 0.02 })),
    });
    const z = countZeros(l1.weights, weightNames);
    expect(z.zeros / z.total).toBeGreaterThan(0.2);
    const grp = await train({
      openRunner: createNodeRunner,
      model,
      train: data,
      epochs: 1,
      seed: 1,
      optimizer: withProximalSteps(base, proximalSteps(model, { groupLasso: 2 })),
    });
    // The first Gemm ([300, 784], transB=1): rows are the output units; a zero must be a whole row.
    const first = model.graph!.initializer.find((t) => t.dims.length === 2)!;
    const [rows, cols] = first.dims.map(Number) as [number, number];
    const w = grp.weights.get(first.name)!;
    let zeroRows = 0;
    for (let r = 0; r < rows; r++) {
      const row = w.subarray(r * cols, (r + 1) * cols);
      const zeros = row.filter((x) => x === 0).length;
      expect(zeros === 0 || zeros === cols).toBe(true);
      if (zeros === cols) zeroRows++;
    }
    expect(zeroRows).toBeGreaterThan(0);
  }, 120_000);
});
