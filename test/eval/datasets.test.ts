import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFloat32, typedView } from '../../src/core/tensor.js';
import { encodeNpy, parseNpy } from '../../src/eval/datasets/npy.js';
import { parseNpz } from '../../src/eval/datasets/npz.js';
import { crc32, listZip } from '../../src/eval/datasets/zip.js';
import { calibrationIndices, splitIndices } from '../../src/eval/splits.js';
import { loadDataSpec, parseDataSpec } from '../../src/node/datasets.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const read = (name: string) => new Uint8Array(readFileSync(fixture(name)));
const X = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75];

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
}

describe('.npy', () => {
  it('reads int64 arrays written by numpy and round-trips through encodeNpy', () => {
    const t = parseNpy(read('int64.npy'));
    expect(t.dtype).toBe('int64');
    expect(t.shape).toEqual([2, 2]);
    expect([...(typedView(t) as BigInt64Array)]).toEqual([1n, -2n, 3n, 1n << 40n]);
    expect(parseNpy(encodeNpy(t))).toEqual(t);
  });

  it('rejects Fortran order, big-endian, bad magic and truncation with precise errors', async () => {
    expect(() => parseNpy(read('fortran.npy'), 'f.npy')).toThrow(/f\.npy: .*Fortran/);
    expect(() => parseNpy(read('bigendian.npy'))).toThrow(/big-endian/);
    expect(await codeOf(() => parseNpy(new Uint8Array(20)))).toBe('E_FORMAT');
    const good = read('int64.npy');
    expect(await codeOf(() => parseNpy(good.subarray(0, good.length - 3)))).toBe('E_TRUNCATED');
  });
});

describe('.npz (zip)', () => {
  it('reads numpy savez (stored) archives', async () => {
    const arrays = await parseNpz(read('small-stored.npz'));
    expect([...arrays.keys()].sort()).toEqual(['x', 'y']);
    expect(arrays.get('x')!.shape).toEqual([2, 2, 3]);
    expect([...toFloat32(arrays.get('x')!)]).toEqual(X);
    expect([...(typedView(arrays.get('y')!) as BigInt64Array)]).toEqual([1n, 0n]);
  });

  it('loads a real np.savez archive whose float32 member sits at an unaligned offset (issue 12 row 5)', async () => {
    // Written by np.savez(a=uint8[3], x=arange(6, float32).reshape(2, 3) / 4, y=int64[1, 0]).
    const bytes = read('savez-unaligned.npz');
    const entry = listZip(bytes).find((e) => e.name === 'x.npy')!;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const dataAt =
      entry.localOffset + 30 + view.getUint16(entry.localOffset + 26, true) + view.getUint16(entry.localOffset + 28, true) + 128;
    expect(entry.method).toBe(0);
    expect(dataAt % 4).not.toBe(0);
    const ds = await loadDataSpec(fixture('savez-unaligned.npz'));
    expect(ds.x.shape).toEqual([2, 3]);
    // Its own aligned buffer: onnxruntime feeds and Float32Array views of it need no copy and cannot throw.
    expect(ds.x.data.byteOffset % 4).toBe(0);
    expect([...toFloat32(ds.x)]).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect([...(typedView(ds.x) as Float32Array)]).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect([...ds.y!]).toEqual([1, 0]);
  });

  it('reads savez_compressed (deflate) archives with DecompressionStream, float16 data', async () => {
    const arrays = await parseNpz(read('small-deflate.npz'));
    expect(arrays.get('x')!.dtype).toBe('float16');
    expect([...toFloat32(arrays.get('x')!)]).toEqual(X);
    expect(listZip(read('small-deflate.npz')).every((e) => e.method === 8)).toBe(true);
  });

  it('detects a damaged entry by its CRC and a cut archive', async () => {
    const bytes = read('small-stored.npz');
    const entry = listZip(bytes).find((e) => e.name === 'x.npy')!;
    const damaged = bytes.slice();
    damaged[entry.localOffset + 30 + 5 + 100]! ^= 0xff;
    expect(await codeOf(parseNpz(damaged))).toBe('E_CHECKSUM');
    expect(await codeOf(parseNpz(bytes.subarray(0, 300)))).toBe('E_TRUNCATED');
    expect(await codeOf(parseNpz(new TextEncoder().encode('not a zip at all, just text')))).toBe('E_FORMAT');
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('data specs and splits', () => {
  it('parses spec strings', () => {
    expect(parseDataSpec('fashion-mnist')).toEqual({ source: 'fashion-mnist', split: undefined });
    expect(parseDataSpec('fashion-mnist:train')).toEqual({ source: 'fashion-mnist', split: 'train' });
    expect(parseDataSpec('/a/b.npz:calibration')).toEqual({ source: '/a/b.npz', split: 'calibration' });
    expect(parseDataSpec('c:/x.npz')).toEqual({ source: 'c:/x.npz', split: undefined });
  });

  it('splits deterministically, disjointly and completely', () => {
    const train = splitIndices(1000, 'train', { seed: 7 });
    const test = splitIndices(1000, 'test', { seed: 7 });
    const cal = splitIndices(1000, 'calibration', { seed: 7, calibrationSize: 100 });
    expect(train.length).toBe(800);
    expect(test.length).toBe(200);
    expect(cal.length).toBe(100);
    const inTrain = new Set(train);
    expect(test.some((i) => inTrain.has(i))).toBe(false);
    expect(cal.every((i) => inTrain.has(i))).toBe(true);
    expect(new Set([...train, ...test]).size).toBe(1000);
    expect(splitIndices(1000, 'test', { seed: 7 })).toEqual(test);
    expect(splitIndices(1000, 'test', { seed: 8 })).not.toEqual(test);
    expect(calibrationIndices(60000, { seed: 1 }).length).toBe(512);
  });

  it('loads fashion-mnist:calibration as a seeded subset of train, and .npz files with labels', async () => {
    const cal = await loadDataSpec('fashion-mnist:calibration', { seed: 3, calibrationSize: 50 });
    expect(cal.x.shape).toEqual([50, 28, 28]);
    expect(cal.name).toBe('fashion-mnist:calibration');
    const again = await loadDataSpec('fashion-mnist:calibration', { seed: 3, calibrationSize: 50 });
    expect(again.y).toEqual(cal.y);
    const npz = await loadDataSpec(fixture('small-deflate.npz'));
    expect([...npz.y!]).toEqual([1, 0]);
    const noLabels = await loadDataSpec(fixture('uint8-nolabels.npz'));
    expect(noLabels.y).toBeUndefined();
    expect(noLabels.x.shape).toEqual([3, 2]);
    expect(await codeOf(loadDataSpec('/nonexistent/data.npz'))).toBe('E_NOT_FOUND');
    expect(await codeOf(loadDataSpec('imagenet'))).toBe('E_ARG');
  });
});
