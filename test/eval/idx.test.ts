import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, imageDatasetFromIdx, parseIdx } from '../../src/eval/datasets/idx.js';
import { loadFashionMnist } from '../../src/node/datasets.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('IDX parser', () => {
  it('round-trips uint8 and big-endian int32/float32', () => {
    const u8 = { dtype: 'uint8' as const, shape: [2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) };
    expect(parseIdx(encodeIdx(u8))).toEqual(u8);
    const i32 = { dtype: 'int32' as const, shape: [3], data: Int32Array.of(-1, 258, 1 << 30) };
    const bytes = encodeIdx(i32);
    expect([...bytes.subarray(8, 12)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(parseIdx(bytes).data).toEqual(i32.data);
    const f32 = { dtype: 'float32' as const, shape: [2], data: Float32Array.of(1.5, -2) };
    expect(parseIdx(encodeIdx(f32)).data).toEqual(f32.data);
  });

  it('rejects bad magic, unknown type, truncation, trailing bytes, gzip', () => {
    const good = encodeIdx({ dtype: 'uint8', shape: [2, 3], data: new Uint8Array(6) });
    const badMagic = good.slice();
    badMagic[0] = 1;
    expect(code(() => parseIdx(badMagic))).toBe('E_FORMAT');
    const badType = good.slice();
    badType[2] = 0x07;
    expect(code(() => parseIdx(badType))).toBe('E_UNSUPPORTED');
    expect(code(() => parseIdx(good.subarray(0, good.length - 1)))).toBe('E_TRUNCATED');
    expect(code(() => parseIdx(good.subarray(0, 6)))).toBe('E_TRUNCATED');
    expect(code(() => parseIdx(Uint8Array.of(...good, 0)))).toBe('E_CORRUPT');
    expect(code(() => parseIdx(gzipSync(good)))).toBe('E_FORMAT');
    expect(() => parseIdx(good.subarray(0, 13), 'x.idx')).toThrow(/x\.idx: IDX uint8\[2, 3\] needs 18 bytes, file has 13/);
  });

  it('pairs images with labels and checks the counts', () => {
    const images = encodeIdx({ dtype: 'uint8', shape: [2, 2, 2], data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
    const labels = encodeIdx({ dtype: 'uint8', shape: [2], data: Uint8Array.of(3, 9) });
    const ds = imageDatasetFromIdx(images, labels);
    expect(ds).toMatchObject({ count: 2, rows: 2, cols: 2 });
    expect([...ds.labels]).toEqual([3, 9]);
    const threeLabels = encodeIdx({ dtype: 'uint8', shape: [3], data: Uint8Array.of(3, 9, 1) });
    expect(code(() => imageDatasetFromIdx(images, threeLabels))).toBe('E_SHAPE');
  });
});

describe('loadFashionMnist', () => {
  it('loads the Debian copy of the test split', () => {
    const ds = loadFashionMnist({ split: 'test' });
    expect(ds).toMatchObject({ count: 10000, rows: 28, cols: 28 });
    expect(ds.images.length).toBe(10000 * 784);
    const histogram = new Array(10).fill(0);
    for (const l of ds.labels) histogram[l]++;
    expect(histogram).toEqual(new Array(10).fill(1000));
    // First test image is an ankle boot (label 9), as documented upstream.
    expect(ds.labels[0]).toBe(9);
  });

  it('reads plain (not gzipped) files from --data-dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-idx-'));
    writeFileSync(
      join(dir, 'train-images-idx3-ubyte'),
      encodeIdx({ dtype: 'uint8', shape: [1, 28, 28], data: new Uint8Array(784).fill(7) }),
    );
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx({ dtype: 'uint8', shape: [1], data: Uint8Array.of(4) })));
    const ds = loadFashionMnist({ split: 'train', dataDir: dir });
    expect(ds.count).toBe(1);
    expect(ds.images[100]).toBe(7);
    expect(ds.labels[0]).toBe(4);
  });

  it('names the paths searched and how to get the data when missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-empty-'));
    let err: { code?: string; message: string } | undefined;
    try {
      loadFashionMnist({ split: 'test', dataDir: dir });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('E_NOT_FOUND');
    expect(err?.message).toContain(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(err?.message).toContain('apt-get install dataset-fashion-mnist');
  });
});
