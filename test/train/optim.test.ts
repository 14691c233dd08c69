import { describe, expect, it } from 'vitest';
import { Adam, AdamW, Sgd, clipByGlobalNorm, createOptimizer, globalNorm } from '../../src/train/optim/index.js';
import { constantLr, cosineLr, linearWarmup, parseLrSchedule, stepLr } from '../../src/train/schedules.js';
import { createRng } from '../../src/core/random.js';
import { ModelpressError } from '../../src/core/errors.js';

/** Plain scalar Adam as written in the paper / torch docs, for one element. */
function scalarAdam(w0: number, grads: number[], lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): number {
  let w = w0,
    m = 0,
    v = 0;
  grads.forEach((gRaw, k) => {
    const t = k + 1;
    if (decoupled) w = w - lr * wd * w;
    const g = decoupled ? gRaw : gRaw + wd * w;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mHat = m / (1 - b1 ** t);
    const vHat = v / (1 - b2 ** t);
    w = w - (lr * mHat) / (Math.sqrt(vHat) + eps);
  });
  return w;
}

function scalarSgd(w0: number, grads: number[], lr: number, mom: number, nesterov: boolean, wd: number): number {
  let w = w0,
    buf = 0;
  grads.forEach((gRaw, k) => {
    const g = gRaw + wd * w;
    if (mom === 0) {
      w -= lr * g;
      return;
    }
    buf = k === 0 ? g : mom * buf + g;
    w -= lr * (nesterov ? g + mom * buf : buf);
  });
  return w;
}

const W0 = [0.5, -1.25, 2, 0.001, -0.3];
const GRADS = [
  [0.1, -0.2, 0.3, 1.5, -0.05],
  [-0.4, 0.25, 0.1, -1.0, 0.02],
  [0.05, 0.05, -0.6, 0.7, 0.9],
  [0.3, -0.1, 0.2, 0.0, -0.3],
];

function run<T extends { step(g: Map<string, Float32Array>): unknown }>(
  make: (p: { name: string; data: Float32Array }) => T,
): Float32Array {
  const p = { name: 'w', data: Float32Array.from(W0) };
  const opt = make(p);
  for (const g of GRADS) opt.step(new Map([['w', Float32Array.from(g)]]));
  return p.data;
}

describe('optimizers against scalar references', () => {
  it('Adam matches the textbook update after several steps', () => {
    const got = run((p) => new Adam([p], { lr: 0.01 }));
    W0.forEach((w, i) =>
      expect(got[i]).toBeCloseTo(
        scalarAdam(
          w,
          GRADS.map((g) => g[i]!),
          0.01,
          0.9,
          0.999,
          1e-8,
          0,
          false,
        ),
        6,
      ),
    );
  });
  it('Adam with L2 weight decay', () => {
    const got = run((p) => new Adam([p], { lr: 0.05, weightDecay: 0.1, beta1: 0.8, beta2: 0.99 }));
    W0.forEach((w, i) =>
      expect(got[i]).toBeCloseTo(
        scalarAdam(
          w,
          GRADS.map((g) => g[i]!),
          0.05,
          0.8,
          0.99,
          1e-8,
          0.1,
          false,
        ),
        6,
      ),
    );
  });
  it('AdamW decays decoupled from the moments', () => {
    const got = run((p) => new AdamW([p], { lr: 0.05, weightDecay: 0.2 }));
    W0.forEach((w, i) =>
      expect(got[i]).toBeCloseTo(
        scalarAdam(
          w,
          GRADS.map((g) => g[i]!),
          0.05,
          0.9,
          0.999,
          1e-8,
          0.2,
          true,
        ),
        6,
      ),
    );
    // and differs from Adam with the same decay
    const adam = run((p) => new Adam([p], { lr: 0.05, weightDecay: 0.2 }));
    expect(Math.abs(adam[0]! - got[0]!)).toBeGreaterThan(1e-4);
  });
  it('first Adam step moves each weight by ~lr against the gradient sign', () => {
    const p = { name: 'w', data: Float32Array.from([1, 1]) };
    new Adam([p], { lr: 0.1 }).step({ w: Float32Array.from([3, -0.001]) });
    expect(p.data[0]).toBeCloseTo(0.9, 5);
    expect(p.data[1]).toBeCloseTo(1.1, 3);
  });
  it('plain SGD: w -= lr * g', () => {
    const p = { name: 'w', data: Float32Array.from([1, 2]) };
    new Sgd([p], { lr: 0.5 }).step({ w: Float32Array.from([0.2, -4]) });
    expect(Array.from(p.data)).toEqual([Math.fround(0.9), 4]);
  });
  it('SGD momentum and Nesterov with weight decay match the reference', () => {
    for (const nesterov of [false, true]) {
      const got = run((p) => new Sgd([p], { lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 }));
      W0.forEach((w, i) =>
        expect(got[i]).toBeCloseTo(
          scalarSgd(
            w,
            GRADS.map((g) => g[i]!),
            0.1,
            0.9,
            nesterov,
            0.01,
          ),
          6,
        ),
      );
    }
  });
  it('Nesterov differs from classic momentum', () => {
    const a = run((p) => new Sgd([p], { lr: 0.1, momentum: 0.9 }));
    const b = run((p) => new Sgd([p], { lr: 0.1, momentum: 0.9, nesterov: true }));
    expect(Math.abs(a[0]! - b[0]!)).toBeGreaterThan(1e-3);
  });
  it('rejects bad hyper-parameters', () => {
    const p = { name: 'w', data: new Float32Array(2) };
    expect(() => new Sgd([p], { lr: -1 })).toThrow(ModelpressError);
    expect(() => new Sgd([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Adam([p], { beta1: 1 })).toThrow(/beta1/);
    expect(() => createOptimizer([p], { name: 'rmsprop' as 'sgd' })).toThrow(/unknown optimizer/);
  });
  it('reports a missing or mis-sized gradient by parameter name', () => {
    const p = { name: 'fc1.weight', data: new Float32Array(3) };
    const opt = new Adam([p]);
    expect(() => opt.step({})).toThrow(/no gradient for parameter 'fc1.weight'/);
    expect(() => opt.step({ 'fc1.weight': new Float32Array(2) })).toThrow(/has 2 entries, parameter has 3/);
  });
});

describe('masks', () => {
  it('keep masked weights exactly zero through many steps of every optimizer', () => {
    const rng = createRng(7);
    for (const name of ['sgd', 'adam', 'adamw'] as const) {
      const data = new Float32Array(1000).map(() => rng.normal());
      const mask = new Uint8Array(1000).map(() => (rng.next() < 0.9 ? 0 : 1));
      const opt = createOptimizer([{ name: 'w', data }], { name, lr: 0.05, weightDecay: 0.01, momentum: 0.9, nesterov: true });
      opt.setMask('w', mask);
      for (let s = 0; s < 200; s++) opt.step({ w: new Float32Array(1000).map(() => rng.normal() * 3) });
      let kept = 0;
      for (let i = 0; i < 1000; i++) {
        if (mask[i] === 0) expect(Object.is(data[i], 0)).toBe(true);
        else if (data[i] !== 0) kept++;
      }
      expect(kept).toBe(mask.reduce((a, b) => a + b, 0));
    }
  });
  it('rejects a mask of the wrong length and an unknown name', () => {
    const opt = new Adam([{ name: 'w', data: new Float32Array(4) }]);
    expect(() => opt.setMask('w', new Uint8Array(3))).toThrow(/mask for 'w' has 3 entries/);
    expect(() => opt.setMask('v', new Uint8Array(4))).toThrow(/no parameter named 'v'/);
  });
});

describe('parameter groups', () => {
  it('use their own lr and decay, defaults elsewhere', () => {
    const a = { name: 'a', data: Float32Array.from([1]) };
    const b = { name: 'b', data: Float32Array.from([1]) };
    const opt = new Sgd(
      [
        { params: [a], lr: 0.5 },
        { params: [b], weightDecay: 1 },
      ],
      { lr: 0.1 },
    );
    opt.step({ a: Float32Array.from([1]), b: Float32Array.from([1]) });
    expect(a.data[0]).toBeCloseTo(0.5, 7); // 1 - 0.5*1
    expect(b.data[0]).toBeCloseTo(0.8, 7); // 1 - 0.1*(1 + 1*1)
    expect(() => new Sgd([{ params: [a] }, { params: [a] }], { lr: 0.1 })).toThrow(/more than one group/);
  });
});

describe('clipping', () => {
  it('scales all gradients together to the global norm', () => {
    const g1 = Float32Array.from([3, 0]);
    const g2 = Float32Array.from([0, 4]);
    const { norm, scale } = clipByGlobalNorm([g1, g2], 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(scale).toBeCloseTo(0.2, 5);
    expect(globalNorm([g1, g2])).toBeCloseTo(1, 5);
    expect(g1[0]! / g2[1]!).toBeCloseTo(0.75, 6);
  });
  it('leaves gradients under the threshold alone and the optimizer reports the norm', () => {
    const p = { name: 'w', data: Float32Array.from([0, 0]) };
    const opt = new Sgd([p], { lr: 1, maxGradNorm: 10 });
    const info = opt.step({ w: Float32Array.from([3, 4]) });
    expect(info.gradNorm).toBeCloseTo(5, 6);
    expect(info.clipScale).toBe(1);
    expect(Array.from(p.data)).toEqual([-3, -4]);
    const clipped = new Sgd([{ name: 'w', data: p.data }], { lr: 1, maxGradNorm: 1 });
    clipped.step({ w: Float32Array.from([3, 4]) });
    expect(p.data[0]).toBeCloseTo(-3.6, 5);
  });
});

describe('schedules', () => {
  it('step, cosine, warm-up', () => {
    const s = stepLr({ stepSize: 10, gamma: 0.5 });
    expect([s(0), s(9), s(10), s(25)]).toEqual([1, 1, 0.5, 0.25]);
    const c = cosineLr({ totalSteps: 100, minFactor: 0.1 });
    expect(c(0)).toBeCloseTo(1, 9);
    expect(c(50)).toBeCloseTo(0.55, 9);
    expect(c(100)).toBeCloseTo(0.1, 9);
    expect(c(1000)).toBeCloseTo(0.1, 9);
    const w = linearWarmup(4, constantLr());
    expect([w(0), w(1), w(3), w(4), w(100)]).toEqual([0.25, 0.5, 1, 1, 1]);
  });
  it('drive the optimizer learning rate', () => {
    const p = { name: 'w', data: Float32Array.from([0]) };
    const opt = new Sgd([p], { lr: 1, schedule: stepLr({ stepSize: 1, gamma: 0.5 }) });
    for (let k = 0; k < 3; k++) opt.step({ w: Float32Array.from([1]) });
    expect(p.data[0]).toBeCloseTo(-1.75, 7); // 1 + 0.5 + 0.25
    expect(opt.currentLr('w')).toBeCloseTo(0.125, 9);
  });
  it('parses CLI specs in epochs', () => {
    const s = parseLrSchedule('warmup:1+step:2:0.5', 10, 6);
    expect([s(0), s(9), s(10), s(29), s(30)]).toEqual([0.1, 1, 1, 1, 0.5]);
    expect(parseLrSchedule('cosine', 10, 2)(20)).toBeCloseTo(0, 9);
    expect(() => parseLrSchedule('exp', 10, 2)).toThrow(/unknown schedule 'exp'/);
  });
});

describe('random', () => {
  it('is reproducible per seed and roughly uniform / normal', () => {
    const a = createRng(42),
      b = createRng(42),
      c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
    const r = createRng(1);
    let sum = 0,
      sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[r.int(7)]++;
    for (const k of counts) expect(Math.abs(k - 1000)).toBeLessThan(150);
  });
});
