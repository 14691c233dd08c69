import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isModelpressError } from '../../src/core/errors.js';
import { encodeIdx, parseIdx } from '../../src/eval/datasets/idx.js';
import { parseNpz } from '../../src/eval/datasets/npz.js';
import { gzipSync, inflateRawSync } from 'node:zlib';
import { readMaybeGzip } from '../../src/node/datasets.js';
import { makeTensor } from '../../src/core/tensor.js';
import { encodeNpy, parseNpy } from '../../src/eval/datasets/npy.js';
import { storedNpz } from './helpers.js';

const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', name)));

/** Runs `parse` on damaged copies of `good`: it must succeed or throw a ModelpressError, nothing else. */
async function survives(good: Uint8Array, parse: (b: Uint8Array) => unknown): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ cut: fc.nat({ max: good.length }) }),
        fc.record({ at: fc.nat({ max: good.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ at: fc.nat({ max: good.length - 1 }), run: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      ),
      async (damage) => {
        let bytes = good.slice();
        if ('cut' in damage) bytes = bytes.subarray(0, damage.cut);
        else if ('value' in damage) bytes[damage.at] = damage.value;
        else bytes.set(damage.run.subarray(0, bytes.length - damage.at), damage.at);
        try {
          await parse(bytes);
        } catch (e) {
          if (!isModelpressError(e)) throw e;
        }
      },
    ),
    { numRuns: 400, seed: 42 },
  );
}

describe('decoders reject damaged input with ModelpressError only', () => {
  it('IDX', async () => {
    await survives(encodeIdx({ dtype: 'float32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) }), parseIdx);
    await survives(encodeIdx({ dtype: 'uint8', shape: [2, 3, 3], data: new Uint8Array(18) }), parseIdx);
  });
  it('gzipped IDX through the node reader (declared-size checks, then the IDX parser)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-gzfuzz-'));
    try {
      const raw = encodeIdx({ dtype: 'uint8', shape: [4, 5, 5], data: Uint8Array.from({ length: 100 }, (_, i) => i % 7) });
      const file = join(dir, 'x.gz');
      await survives(new Uint8Array(gzipSync(raw)), (b) => {
        writeFileSync(file, b);
        return parseIdx(readMaybeGzip(file));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('.npy', async () => {
    await survives(fixture('int64.npy'), parseNpy);
  });
  it('.npz stored and deflated (DecompressionStream and zlib inflaters)', async () => {
    await survives(fixture('small-stored.npz'), (b) => parseNpz(b));
    await survives(fixture('small-deflate.npz'), (b) => parseNpz(b));
    await survives(fixture('small-deflate.npz'), (b) =>
      parseNpz(b, { inflateRaw: (d, max) => inflateRawSync(d, { maxOutputLength: Math.max(1, max) }) }),
    );
  });
  it('.npz stored with an odd first member (float32 data at an unaligned offset), as np.savez writes it', async () => {
    const odd = encodeNpy(makeTensor('uint8', [3], Uint8Array.of(1, 2, 3)));
    const x = encodeNpy(makeTensor('float32', [2, 3], new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer)));
    await survives(new Uint8Array(storedNpz({ a: odd, x })), (b) => parseNpz(b));
  });
  it('undamaged fixtures still parse', async () => {
    expect((await parseNpz(fixture('small-deflate.npz'))).size).toBe(2);
  });
});
