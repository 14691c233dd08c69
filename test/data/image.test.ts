import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageToSample, parsePreprocess, preprocessShape, resolvePreprocess, type ResolvedImagePreprocess } from '../../src/data/image.js';

/** An RGBA image whose pixel (x, y) has R = f(x, y), G = 2R mod 256, B = 255 − R. */
function rgba(w: number, h: number, f: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const r = f(x, y) & 255;
      out.set([r, (2 * r) & 255, 255 - r, 255], (y * w + x) * 4);
    }
  return out;
}

const base: ResolvedImagePreprocess = {
  height: 2,
  width: 3,
  fit: 'stretch',
  resize: undefined,
  layout: 'nchw',
  channels: 'rgb',
  scale: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
};

function run(img: Uint8Array, w: number, h: number, p: ResolvedImagePreprocess): number[] {
  const out = new Float32Array(preprocessShape(p).reduce((a, b) => a * b, 1));
  imageToSample(img, w, h, p, out, 0);
  return [...out];
}

describe('image to sample', () => {
  it('at its own size is the pixels themselves, in CHW or HWC, RGB or BGR', () => {
    const img = rgba(3, 2, (x, y) => 10 * y + x);
    expect(run(img, 3, 2, base)).toEqual([0, 1, 2, 10, 11, 12, 0, 2, 4, 20, 22, 24, 255, 254, 253, 245, 244, 243]);
    expect(run(img, 3, 2, { ...base, layout: 'nhwc' }).slice(0, 6)).toEqual([0, 0, 255, 1, 2, 254]);
    expect(run(img, 3, 2, { ...base, channels: 'bgr' }).slice(0, 3)).toEqual([255, 254, 253]);
    const grey = run(img, 3, 2, { ...base, channels: 'gray' });
    expect(grey[0]).toBeCloseTo(0.587 * 0 + 0.114 * 255, 4);
  });

  it('scales, then subtracts the mean and divides by the std per channel', () => {
    const img = rgba(1, 1, () => 51);
    const p = { ...base, height: 1, width: 1, scale: 1 / 255, mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    const [r, g, b] = run(img, 1, 1, p);
    expect(r).toBeCloseTo((0.2 - 0.1) / 0.5, 6);
    expect(g).toBeCloseTo((102 / 255 - 0.2) / 0.25, 6);
    expect(b).toBeCloseTo((204 / 255 - 0.3) / 2, 6);
  });

  it('bilinear resize keeps a constant image constant and a linear ramp linear (pixel centres aligned)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 255 }),
        (w, h, ow, oh, v) => {
          const out = run(
            rgba(w, h, () => v),
            w,
            h,
            { ...base, width: ow, height: oh },
          );
          expect(out.slice(0, ow * oh).every((x) => Math.abs(x - v) < 1e-3)).toBe(true);
        },
      ),
    );
    // 4 -> 2 wide: output centres at source x = 0.5 and 2.5, between ramp values.
    const ramp = rgba(4, 1, (x) => 40 * x);
    expect(run(ramp, 4, 1, { ...base, width: 2, height: 1 }).slice(0, 2)).toEqual([20, 100]);
    // 2 -> 4 wide: centres at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    expect(
      run(
        rgba(2, 1, (x) => 100 * x),
        2,
        1,
        { ...base, width: 4, height: 1 },
      ).slice(0, 4),
    ).toEqual([0, 25, 75, 100]);
  });

  it("'crop' resizes the shorter side then takes the centre", () => {
    // 6x2 image, columns 0..5: crop to 2x2 (shorter side 2 -> no scaling) keeps columns 2 and 3.
    const img = rgba(6, 2, (x) => x * 10);
    expect(run(img, 6, 2, { ...base, width: 2, height: 2, fit: 'crop' }).slice(0, 4)).toEqual([20, 30, 20, 30]);
    // Stretch instead squeezes all six columns into two.
    expect(run(img, 6, 2, { ...base, width: 2, height: 2 }).slice(0, 2)).toEqual([10, 40]);
  });
});

describe('preprocessing settings', () => {
  it('parses the JSON file and names the bad field', () => {
    expect(
      parsePreprocess(
        '{"size": 224, "mean": [0.485, 0.456, 0.406], "std": 0.5, "layout": "nhwc", "channels": "bgr", "fit": "crop", "resize": 256}',
        'p.json',
      ),
    ).toEqual({
      size: [224, 224],
      mean: [0.485, 0.456, 0.406],
      std: [0.5],
      layout: 'nhwc',
      channels: 'bgr',
      fit: 'crop',
      resize: 256,
    });
    expect(() => parsePreprocess('{"sise": 3}', 'p.json')).toThrow(/p\.json: preprocessing: unknown field 'sise'/);
    expect(() => parsePreprocess('{"std": [0]}', 'p.json')).toThrow(/std must hold positive numbers/);
    expect(() => parsePreprocess('{"layout": "chw"}', 'p.json')).toThrow(/layout must be one of nchw, nhwc/);
    expect(() => parsePreprocess('{"size": [1, 2, 3]}', 'p.json')).toThrow(/size must be \[height, width\]/);
    expect(() => parsePreprocess('[1]', 'p.json')).toThrow(/expected a JSON object/);
    expect(() => parsePreprocess('{', 'p.json')).toThrow(/\[?p\.json: preprocessing file is not JSON/);
  });

  it('takes size, layout and channels from the model input, and refuses a contradiction', () => {
    const img = { width: 50, height: 40 };
    expect(resolvePreprocess({}, ['N', 3, 224, 224], img)).toMatchObject({
      layout: 'nchw',
      channels: 'rgb',
      height: 224,
      width: 224,
      scale: 1 / 255,
    });
    expect(resolvePreprocess({}, [1, 32, 48, 3], img)).toMatchObject({ layout: 'nhwc', height: 32, width: 48 });
    expect(resolvePreprocess({}, ['N', 28, 28], img)).toMatchObject({ channels: 'gray', height: 28, width: 28 });
    expect(resolvePreprocess({}, ['N', 3, 'h', 'w'], img)).toMatchObject({ height: 40, width: 50 });
    expect(resolvePreprocess({ size: [48, 320] }, ['N', 3, 48, 'w'], img)).toMatchObject({ height: 48, width: 320 });
    expect(() => resolvePreprocess({ size: [32, 32] }, ['N', 3, 48, 'w'], img)).toThrow(
      /gives height 32, the model input \[N, 3, 48, w\] \(nchw\) takes 48/,
    );
    expect(() => resolvePreprocess({ channels: 'gray' }, ['N', 3, 8, 8], img)).toThrow(/channels 1/);
    expect(() => resolvePreprocess({ mean: [1, 2] }, ['N', 3, 8, 8], img)).toThrow(/mean has 2 values for 3 channels/);
  });
});
