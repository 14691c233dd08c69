/** The auto scheme's allocator on synthetic sensitivities: within the target, nested (monotone) in the target. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, allocationChain, planAt, type AllocTensor } from '../../src/quantize/auto.js';

/** A tensor of `n` weights with float32, float16, int8, int4 candidates and the given errors (float32 error 0). */
const arbTensor: fc.Arbitrary<AllocTensor> = fc
  .record({
    n: fc.integer({ min: 1, max: 5000 }),
    errs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
  })
  .map(({ n, errs }) => ({ name: `n${n}`, bytes: [4 * n, 2 * n, n + 4, Math.ceil(n / 2) + 8], error: [0, ...errs] }));
const arbTensors = fc.array(arbTensor, { minLength: 1, maxLength: 12 });

function sizeOf(ts: readonly AllocTensor[], choice: readonly number[]): number {
  return ts.reduce((a, t, i) => a + t.bytes[choice[i]!]!, 0);
}
function errorOf(ts: readonly AllocTensor[], choice: readonly number[]): number {
  return ts.reduce((a, t, i) => a + t.error[choice[i]!]!, 0);
}

describe('auto allocation', () => {
  it('a size target: the plan fits, a larger target never stores a tensor smaller, filling the slack only helps', () => {
    fc.assert(
      fc.property(arbTensors, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (ts, r1, r2) => {
        const full = sizeOf(
          ts,
          ts.map(() => 0),
        );
        const smallest = ts.reduce((a, t) => a + Math.min(...t.bytes.filter((b, j) => j === 0 || b < t.bytes[0]!)), 0);
        const [lo, hi] = [Math.min(r1, r2), Math.max(r1, r2)].map((r) => smallest + r * (full - smallest)) as [number, number];
        const chain = allocationChain(ts);
        const a = allocate(ts, { maxBytes: lo }, chain, false);
        const b = allocate(ts, { maxBytes: hi }, chain, false);
        expect(a && b).toBeTruthy();
        expect(a!.bytes).toBeLessThanOrEqual(lo);
        expect(b!.bytes).toBeLessThanOrEqual(hi);
        expect(sizeOf(ts, a!.choice)).toBe(a!.bytes);
        // nested: every tensor of the larger target keeps at least as many bytes
        ts.forEach((t, i) => expect(t.bytes[b!.choice[i]!]!).toBeGreaterThanOrEqual(t.bytes[a!.choice[i]!]!));
        expect(b!.error).toBeLessThanOrEqual(a!.error + 1e-12);
        // spending the slack again: still within the target, never more error than the chain's plan
        const fa = allocate(ts, { maxBytes: lo }, chain)!;
        expect(fa.bytes).toBeLessThanOrEqual(lo);
        expect(sizeOf(ts, fa.choice)).toBe(fa.bytes);
        expect(fa.error).toBeLessThanOrEqual(a!.error + 1e-12);
        expect(fa.error).toBeCloseTo(errorOf(ts, fa.choice), 9);
      }),
      { numRuns: 300 },
    );
  });

  it('an error target: the plan stays within it, and a looser target is never larger', () => {
    fc.assert(
      fc.property(arbTensors, fc.double({ min: 0, max: 3, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), (ts, e1, e2) => {
        const [lo, hi] = [Math.min(e1, e2), Math.max(e1, e2)] as [number, number];
        const a = allocate(ts, { maxError: lo })!;
        const b = allocate(ts, { maxError: hi })!;
        expect(errorOf(ts, a.choice)).toBeLessThanOrEqual(lo + 1e-9);
        expect(errorOf(ts, b.choice)).toBeLessThanOrEqual(hi + 1e-9);
        expect(b.bytes).toBeLessThanOrEqual(a.bytes);
        ts.forEach((t, i) => expect(t.bytes[b.choice[i]!]!).toBeLessThanOrEqual(t.bytes[a.choice[i]!]!));
      }),
      { numRuns: 300 },
    );
  });

  it('the chain only shrinks the model, step by step, ending at every tensor at its smallest candidate below float32', () => {
    fc.assert(
      fc.property(arbTensors, (ts) => {
        const chain = allocationChain(ts);
        let prev = planAt(ts, chain, 0);
        expect(prev.bytes).toBe(
          sizeOf(
            ts,
            ts.map(() => 0),
          ),
        );
        for (let k = 1; k <= chain.steps.length; k++) {
          const p = planAt(ts, chain, k);
          expect(p.bytes).toBeLessThan(prev.bytes);
          prev = p;
        }
        ts.forEach((t, i) => expect(t.bytes[prev.choice[i]!]).toBe(Math.min(...t.bytes.filter((b, j) => j === 0 || b < t.bytes[0]!))));
      }),
    );
  });

  it('a size target beyond reach is undefined; a zero error target compresses only the lossless candidates', () => {
    const ts: AllocTensor[] = [
      { name: 'a', bytes: [400, 200, 104], error: [0, 0, 0.5] },
      { name: 'b', bytes: [400, 200, 104], error: [0, 1e-6, 1e-3] },
    ];
    expect(allocate(ts, { maxBytes: 100 })).toBeUndefined();
    const z = allocate(ts, { maxError: 0 })!;
    expect(z.choice).toEqual([1, 0]);
    expect(z.bytes).toBe(600);
  });

  it('picks the cheaper error per byte: the insensitive tensor is compressed first', () => {
    const ts: AllocTensor[] = [
      { name: 'sensitive', bytes: [4000, 2000, 1000], error: [0, 1e-3, 1e-1] },
      { name: 'robust', bytes: [4000, 2000, 1000], error: [0, 1e-6, 1e-4] },
    ];
    const chain = allocationChain(ts);
    expect(allocate(ts, { maxBytes: 6000 }, chain, false)!.choice).toEqual([0, 1]);
    expect(allocate(ts, { maxBytes: 5000 }, chain, false)!.choice).toEqual([0, 2]);
    expect(allocate(ts, { maxBytes: 3000 }, chain, false)!.choice).toEqual([1, 2]);
    expect(allocate(ts, { maxBytes: 2000 }, chain, false)!.choice).toEqual([2, 2]);
    // 5500 bytes: the chain stops at [0, 2] (5000); the 500 bytes left buy nothing (no move costs so little)
    expect(allocate(ts, { maxBytes: 5500 })!.choice).toEqual([0, 2]);
    // 3500: the chain's [1, 2] (3000) leaves 500; still nothing fits. 4000 fits robust back at float16: [1, 1]
    expect(allocate(ts, { maxBytes: 4000 })!.choice).toEqual([1, 1]);
  });
});
