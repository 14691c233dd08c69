import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/core/tensor.js';
import { detectFormat } from '../../src/formats/detect.js';
import { readTfjsFile } from '../../src/node/tfjs-files.js';
import { weightsFixtures } from '../fixtures/make-weights.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('weights fixtures', () => {
  it('the committed files are what test/fixtures/make-weights.ts generates', () => {
    const files = weightsFixtures();
    expect(files.size).toBeGreaterThan(10);
    for (const [rel, bytes] of files) {
      const path = join(FIXTURES, rel);
      expect(existsSync(path), `${rel} missing: run npx tsx test/fixtures/make-weights.ts`).toBe(true);
      expect(Buffer.compare(readFileSync(path), bytes), rel).toBe(0);
    }
  });

  it('the graph-model fixture reads and runs in tfjs-converter with the values we read', async () => {
    const path = join(FIXTURES, 'tfjs/graph-model/model.json');
    expect(detectFormat(new Uint8Array(readFileSync(path)), path)).toBe('tfjs');
    const model = readTfjsFile(path);
    expect(model.kind).toBe('graph-model');
    expect(model.tensors.map((t) => [t.name, t.location.kind === 'tfjs' ? t.location.quantization : '?'])).toEqual([
      ['dense/kernel', 'uint8'],
      ['dense/bias', 'float16'],
      ['out/kernel', 'uint16'],
    ]);
    const graph = await tfconv.loadGraphModel(`file://${path}`, {
      // tfjs's http loader, fed from disk: it fetches model.json, then each group's shards relative to it
      fetchFunc: (async (url: string | URL | Request) => new Response(readFileSync(String(url).replace('file://', '')))) as typeof fetch,
    });
    const x = tf.tensor2d(
      Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1),
      [2, 8],
    );
    const y = (graph.execute(x) as tf.Tensor).dataSync();
    const w = (n: string) => toFloat32(model.tensors.find((t) => t.name === n)!.tensor);
    const xv = x.dataSync();
    for (let r = 0; r < 2; r++) {
      const h = Array.from(
        { length: 16 },
        (_, j) =>
          w('dense/bias')[j]! +
          Array.from({ length: 8 }, (_, k) => xv[r * 8 + k]! * w('dense/kernel')[k * 16 + j]!).reduce((a, b) => a + b),
      );
      for (let o = 0; o < 4; o++) {
        const want = h.reduce((acc, hv, j) => acc + hv * w('out/kernel')[j * 4 + o]!, 0);
        expect(y[r * 4 + o]).toBeCloseTo(want, 4);
      }
    }
  });

  it('the blazeface.json + blazeface.bin layers model, and the short-shard golden error', () => {
    const m = readTfjsFile(join(FIXTURES, 'tfjs/blazeface/blazeface.json'));
    expect(m.kind).toBe('layers-model');
    expect([...toFloat32(m.tensors[1]!.tensor)]).toEqual([0.25, -0.5]);
    const bad = join(FIXTURES, 'tfjs/bad-short-shard/model.json');
    expect(() => readTfjsFile(bad)).toThrow(expect.objectContaining({ code: 'E_TRUNCATED', file: bad }));
  });
});
