/**
 * Issue 12, rows 5 and 7: np.savez (stored) members at unaligned offsets, and
 * gzip/zip/IDX/npy headers that lie about (or truthfully claim) huge sizes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import { encodeIdx } from '../../src/eval/datasets/idx.js';
import { encodeNpy, parseNpy } from '../../src/eval/datasets/npy.js';
import { parseNpz } from '../../src/eval/datasets/npz.js';
import { crc32, listZip } from '../../src/eval/datasets/zip.js';
import { loadDataSpec, loadFashionMnist, loadMnist, readMaybeGzip } from '../../src/node/datasets.js';
import { cli } from '../cli/cli.js';
import { classMeanFixture, storedNpz, zipArchive } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-hostile-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function errorOf(f: () => unknown): Promise<{ code?: string; message: string; file?: string } | undefined> {
  try {
    await f();
  } catch (e) {
    return e as { code?: string; message: string; file?: string };
  }
  return undefined;
}

/** Raw deflate of `segments * 16 MiB` zero bytes, built from one sync-flushed segment (a few MB of output for GBs). */
function zeroDeflate(segments: number): Uint8Array {
  const segment = deflateRawSync(new Uint8Array(16 << 20), { finishFlush: constants.Z_SYNC_FLUSH });
  const final = deflateRawSync(new Uint8Array(0));
  const out = new Uint8Array(segment.length * segments + final.length);
  for (let i = 0; i < segments; i++) out.set(segment, i * segment.length);
  out.set(final, segment.length * segments);
  return out;
}

/** A one-member deflated zip whose directory declares `size` bytes and `crc`. */
function deflatedZip(name: string, deflated: Uint8Array, size: number, crc = 0): Uint8Array {
  return zipArchive([{ name, data: deflated, method: 8, size, crc }]);
}

/** A gzip file around raw deflate data, with the trailer's CRC and ISIZE as given. */
function gzip(deflated: Uint8Array, isize: number, crc = 0): Uint8Array {
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  new DataView(trailer.buffer).setUint32(4, isize >>> 0, true);
  return Buffer.concat([Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), deflated, trailer]);
}

/** Runs `f`, asserting it fails with `code` under 300 MB of RSS growth (the test timeout is the hang detector). */
async function refusedFast(f: () => unknown, code: string, file?: string): Promise<string> {
  const rss = process.memoryUsage().rss;
  const e = await errorOf(f);
  const grown = process.memoryUsage().rss - rss;
  expect(e?.code, e?.message).toBe(code);
  if (file !== undefined) expect(e?.file).toBe(file);
  expect(grown).toBeLessThan(300 << 20);
  return e!.message;
}

describe('np.savez (stored) members at unaligned offsets (issue 12 row 5)', () => {
  const fx = classMeanFixture();
  const images = loadMnistLikeImages();
  // An odd-length first member puts x.npy's data at an odd offset in the file.
  const odd = encodeNpy(makeTensor('uint8', [3], Uint8Array.of(1, 2, 3)));
  const x = makeTensor('float32', [images.count, 28, 28], new Uint8Array(Float32Array.from(images.pixels, (v) => v / 255).buffer));
  const y = makeTensor('int64', [images.count], new Uint8Array(BigInt64Array.from(images.labels, (v) => BigInt(v)).buffer));
  const file = join(dir, 'stored.npz');
  writeFileSync(file, storedNpz({ a: odd, x: encodeNpy(x), y: encodeNpy(y) }));

  it('puts the float32 member at an offset that is not a multiple of 4', () => {
    expect(odd.length % 2).toBe(1);
    const bytes = new Uint8Array(Buffer.from(storedNpz({ a: odd, x: encodeNpy(x) })));
    const entry = listZip(bytes).find((e) => e.name === 'x.npy')!;
    expect(entry.method).toBe(0);
    expect((entry.localOffset + 30 + 'x.npy'.length + 128) % 4).not.toBe(0);
  });

  it('loads: the elements equal what was written, in a buffer of their own', async () => {
    const ds = await loadDataSpec(file);
    expect(ds.x.shape).toEqual([images.count, 28, 28]);
    expect(ds.x.data.byteOffset % 4).toBe(0);
    expect(toFloat32(ds.x)).toEqual(toFloat32(x));
    expect([...ds.y!]).toEqual([...images.labels]);
  });

  it('evaluates with `eval --data file.npz`', async () => {
    const r = await cli('eval', fx.model, '--data', file, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.out) as { accuracy: number; samples?: number };
    expect(rec.accuracy).toBeGreaterThan(0.5);
  });
});

/** 200 Fashion-MNIST test images with their labels. */
function loadMnistLikeImages(): { count: number; pixels: Uint8Array; labels: Uint8Array } {
  const t = loadFashionMnist({ split: 'test' });
  const count = 200;
  return { count, pixels: t.images.subarray(0, count * 784), labels: t.labels.subarray(0, count) };
}

describe('zip bombs in .npz (issue 12 row 7)', () => {
  // 250 x 16 MiB of zeros: 4,194,304,000 bytes from about 4 MB.
  const bomb = zeroDeflate(250);
  const trueSize = 250 * (16 << 20);

  it('refuses a member whose directory lies small, stopping inflation at the declared size (zlib and streams)', async () => {
    const file = join(dir, 'lying.npz');
    writeFileSync(file, deflatedZip('x.npy', bomb, 1000));
    expect(await refusedFast(() => loadDataSpec(file), 'E_CORRUPT', file)).toMatch(/more than the 1000 bytes/);
    const bytes = deflatedZip('x.npy', bomb.subarray(0, bomb.length >> 4), 1000);
    expect(await refusedFast(() => parseNpz(bytes, { file: 'b.npz' }), 'E_CORRUPT', 'b.npz')).toMatch(/more than the 1000 bytes/);
  });

  it('refuses a member whose directory truthfully declares more than the limit, before inflating', async () => {
    const file = join(dir, 'huge.npz');
    writeFileSync(file, deflatedZip('x.npy', bomb, trueSize));
    expect(await refusedFast(() => loadDataSpec(file), 'E_CORRUPT', file)).toMatch(/over the 2147483648-byte limit/);
    const small = deflatedZip('x.npy', deflateRawSync(new Uint8Array(5000)), 5000, crc32(new Uint8Array(5000)));
    expect(await refusedFast(() => parseNpz(small, { maxBytes: 4096 }), 'E_CORRUPT')).toMatch(/over the 4096-byte limit/);
  });

  it("refuses a directory size beyond deflate's best ratio, and a stored member whose two sizes differ", async () => {
    const tiny = deflateRawSync(new Uint8Array(100));
    expect(await refusedFast(() => parseNpz(deflatedZip('x.npy', tiny, 2 ** 30)), 'E_CORRUPT')).toMatch(/1032:1/);
    const stored = Buffer.from(storedNpz({ x: encodeNpy(makeTensor('uint8', [4], new Uint8Array(4))) }));
    const entry = listZip(stored)[0]!;
    const cd = stored.length - 22 - 46 - 'x.npy'.length;
    stored.writeUInt32LE(entry.size + 1_000_000, cd + 24);
    expect(await refusedFast(() => parseNpz(stored), 'E_CORRUPT')).toMatch(/stored zip entry 'x.npy' has \d+ bytes but declares/);
  });
});

describe('gzip bombs and lying IDX headers (issue 12 row 7)', () => {
  it('refuses a gzip whose trailer lies small, stopping at the declared size', async () => {
    const file = join(dir, 'lying.gz');
    writeFileSync(file, gzip(zeroDeflate(250), 4096));
    expect(await refusedFast(() => readMaybeGzip(file), 'E_CORRUPT', file)).toMatch(/more than the 4096 bytes/);
  });

  it('refuses a gzip that declares more than the limit or than deflate can produce from it', async () => {
    const file = join(dir, 'huge.gz');
    writeFileSync(file, gzip(zeroDeflate(250), 250 * (16 << 20)));
    expect(await refusedFast(() => readMaybeGzip(file), 'E_CORRUPT', file)).toMatch(/over the 2147483648-byte limit/);
    writeFileSync(file, gzip(deflateRawSync(new Uint8Array(10)), 2 ** 30));
    expect(await refusedFast(() => readMaybeGzip(file), 'E_CORRUPT', file)).toMatch(/1032:1/);
  });

  it('refuses an IDX gzip whose header claims more than its data, naming the file', async () => {
    const mnist = join(dir, 'mnist');
    mkdirSync(mnist, { recursive: true });
    const images = encodeIdx({ dtype: 'uint8', shape: [2, 28, 28], data: new Uint8Array(2 * 784) });
    new DataView(images.buffer).setUint32(4, 60000, false); // claims 60,000 images, holds 2
    const labels = encodeIdx({ dtype: 'uint8', shape: [2], data: Uint8Array.of(1, 2) });
    const imageFile = join(mnist, 't10k-images-idx3-ubyte.gz');
    const gz = (b: Uint8Array) => gzip(deflateRawSync(b), b.length, crc32(b));
    writeFileSync(imageFile, gz(images));
    writeFileSync(join(mnist, 't10k-labels-idx1-ubyte.gz'), gz(labels));
    expect(await refusedFast(() => loadMnist({ dataDir: mnist }), 'E_TRUNCATED', imageFile)).toMatch(/needs 47040016 bytes/);
    // Dimensions whose product overflows are refused before any allocation.
    const huge = encodeIdx({ dtype: 'uint8', shape: [1, 1, 1, 1], data: new Uint8Array(1) });
    for (let i = 0; i < 4; i++) new DataView(huge.buffer).setUint32(4 + 4 * i, 0xffffffff, false);
    writeFileSync(imageFile, gz(huge));
    await refusedFast(() => loadMnist({ dataDir: mnist }), 'E_CORRUPT', imageFile);
  });
});

describe('npy shapes that overflow (issue 12 row 7)', () => {
  it('refuses a shape whose byte size is not a safe integer with E_SHAPE, naming the file', async () => {
    const t = encodeNpy(makeTensor('float32', [2, 2], new Uint8Array(16)));
    const text = new TextDecoder('latin1').decode(t.subarray(10, 10 + new DataView(t.buffer).getUint16(8, true)));
    const bigger = text.replace('(2, 2)', '(1099511627776, 1099511627776)');
    const header = bigger.slice(0, text.length); // same length: the padding absorbs the longer shape
    expect(header).toContain('1099511627776, 1099511627776');
    const bytes = t.slice();
    for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
    bytes[10 + header.length - 1] = 0x0a;
    const message = await refusedFast(() => parseNpy(bytes, 'big.npy'), 'E_SHAPE', 'big.npy');
    expect(message).toMatch(/overflows/);
  });
});
