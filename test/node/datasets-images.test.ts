import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/core/tensor.js';
import { loadDataSpec } from '../../src/node/datasets.js';
import { decodeImage, listImageFolder, loadImageFolder } from '../../src/node/images.js';

const root = mkdtempSync(join(tmpdir(), 'mp-images-'));

/** RGBA pixels with R = value, G = B = 0 (so the red channel reads back exactly). */
function pixels(w: number, h: number, value: number): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([value, 0, 0, 255], i * 4);
  return data;
}
function writePng(path: string, w: number, h: number, value: number): void {
  writeFileSync(path, PNG.sync.write({ width: w, height: h, data: pixels(w, h, value) }));
}
function writeJpeg(path: string, w: number, h: number, value: number): void {
  writeFileSync(path, jpeg.encode({ width: w, height: h, data: pixels(w, h, value) }, 95).data);
}
function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('image folders', () => {
  it('class subfolders give sorted labels, interleaved so --limit keeps every class', () => {
    const d = folder('classes');
    for (const [cls, n] of [
      ['b-dog', 3],
      ['a-cat', 2],
    ] as const) {
      mkdirSync(join(d, cls));
      for (let i = 0; i < n; i++) writePng(join(d, cls, `${i}.png`), 4, 4, 10 * i + (cls === 'a-cat' ? 1 : 2));
    }
    writeFileSync(join(d, 'b-dog', 'notes.txt'), 'not an image');
    const l = listImageFolder(d);
    expect(l.classes).toEqual(['a-cat', 'b-dog']);
    expect([...l.labels!]).toEqual([0, 1, 0, 1, 1]);
    expect(l.files.map((f) => f.slice(d.length + 1))).toEqual(['a-cat/0.png', 'b-dog/0.png', 'a-cat/1.png', 'b-dog/1.png', 'b-dog/2.png']);
    const ds = loadImageFolder(d, { inputShape: ['N', 3, 4, 4], limit: 3 });
    expect(ds.x.shape).toEqual([3, 3, 4, 4]);
    expect([...ds.y!]).toEqual([0, 1, 0]);
    // Red channel of each sample, scaled by 1/255.
    const v = toFloat32(ds.x);
    expect([0, 1, 2].map((k) => Math.round(v[k * 48]! * 255))).toEqual([1, 2, 11]);
  });

  it('decodes PNG and JPEG by content, resizes to the model input, and reads preprocess.json', async () => {
    const d = folder('flat');
    writePng(join(d, 'a.png'), 8, 6, 200);
    writeJpeg(join(d, 'b.jpg'), 5, 5, 100);
    writeFileSync(join(d, 'labels.txt'), '3\n7\n');
    writeFileSync(join(d, 'preprocess.json'), JSON.stringify({ scale: 1, mean: 100, std: 2, layout: 'nhwc' }));
    const ds = await loadDataSpec(d, { inputs: [{ name: 'img', dtype: 'float32', shape: ['N', 'h', 'w', 3] }] });
    // Size from the first image (the input's H, W are symbolic), NHWC from the JSON.
    expect(ds.x.shape).toEqual([2, 6, 8, 3]);
    expect([...ds.y!]).toEqual([3, 7]);
    const v = toFloat32(ds.x);
    expect(v[0]).toBe(50); // (200 - 100) / 2
    expect(Math.abs(v[6 * 8 * 3]! - 0)).toBeLessThan(3); // JPEG red of ~100
    expect(ds.preprocessed).toBe(true);
    // --preprocess wins over the folder's file.
    const other = join(root, 'other.json');
    writeFileSync(other, JSON.stringify({ size: [2, 2] }));
    const small = await loadDataSpec(d, { preprocessFile: other });
    expect(small.x.shape).toEqual([2, 3, 2, 2]);
    expect(toFloat32(small.x)[0]).toBeCloseTo(200 / 255, 6);
  });

  it('decodes only the images a split and --limit select: a corrupt file left out is never read', async () => {
    const d = folder('lazy');
    for (let i = 0; i < 5; i++) writePng(join(d, `${i}.png`), 2, 2, i);
    // A real PNG cut short: header and IHDR intact, image data missing.
    writeFileSync(join(d, '9-corrupt.png'), PNG.sync.write({ width: 2, height: 2, data: pixels(2, 2, 1) }).subarray(0, 40));
    const first = await loadDataSpec(d, { limit: 5 });
    expect(first.x.shape).toEqual([5, 3, 2, 2]);
    await expect(loadDataSpec(d)).rejects.toThrow(/\[?.*9-corrupt\.png: image cannot be decoded: PNG/);
  });

  it('names the problem and the file: corrupt, not an image, wrong label count, empty, mixed', async () => {
    const bad = folder('bad');
    writePng(join(bad, 'ok.png'), 2, 2, 1);
    writeFileSync(join(bad, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    await expect(loadDataSpec(bad)).rejects.toMatchObject({ code: 'E_CORRUPT', file: join(bad, 'broken.jpg') });
    const text = folder('text');
    writeFileSync(join(text, 'a.png'), 'hello');
    expect(() => decodeImage(join(text, 'a.png'))).toThrow(/neither PNG nor JPEG \(first bytes 68 65 6c 6c\)/);
    const labels = folder('labels');
    writePng(join(labels, 'a.png'), 2, 2, 1);
    writePng(join(labels, 'b.png'), 2, 2, 1);
    writeFileSync(join(labels, 'labels.txt'), '1\n2\n3\n');
    await expect(loadDataSpec(labels)).rejects.toMatchObject({ code: 'E_SHAPE', file: join(labels, 'labels.txt') });
    await expect(loadDataSpec(labels)).rejects.toThrow(/3 labels for the folder's 2 images/);
    writeFileSync(join(labels, 'labels.txt'), '1\ncat\n');
    await expect(loadDataSpec(labels)).rejects.toThrow(/line 2 is "cat"/);
    const empty = folder('empty');
    await expect(loadDataSpec(empty)).rejects.toMatchObject({ code: 'E_NOT_FOUND', file: empty });
    const mixed = folder('mixed');
    mkdirSync(join(mixed, 'cls'));
    writePng(join(mixed, 'top.png'), 2, 2, 1);
    await expect(loadDataSpec(mixed)).rejects.toThrow(/both images \(top\.png\) and subfolders \(cls\)/);
    const emptyClass = folder('empty-class');
    mkdirSync(join(emptyClass, 'a'));
    mkdirSync(join(emptyClass, 'b'));
    writePng(join(emptyClass, 'a', '0.png'), 2, 2, 1);
    await expect(loadDataSpec(emptyClass)).rejects.toThrow(/class folder b hold no PNG or JPEG images/);
    await expect(loadDataSpec(join(root, 'labels', 'a.png'), { preprocessFile: 'x.json' })).rejects.toThrow(
      /--preprocess applies to image folders/,
    );
  });
});
