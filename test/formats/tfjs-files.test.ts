import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import { readTfjsFile, resolveTfjsShardPath, writeTfjsFiles } from '../../src/node/tfjs-files.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (v: number[], shape: number[]) => makeTensor('float32', shape, new Uint8Array(new Float32Array(v).buffer));
const model = { format: 'graph-model', modelTopology: { node: [] }, userDefinedMetadata: { a: 1 } };

describe('TF.js model files', () => {
  it('writes blazeface.json + shards atomically next to it and reads them back', () => {
    const path = join(dir, 'blazeface.json');
    const w = Array.from({ length: 100 }, (_, i) => i / 10 - 3);
    const out = writeTfjsFiles(
      path,
      model,
      [
        { name: 'conv/w', tensor: f32(w, [10, 10]) },
        { name: 'conv/b', tensor: f32([1, 2], [2]), group: 1 },
      ],
      { shardSize: 256, quantize: { 'conv/w': 'uint8' } },
    );
    expect(out.shardPaths.map((p) => p.slice(dir.length + 1))).toEqual([
      'blazeface.group1-shard1of1.bin',
      'blazeface.group2-shard1of1.bin',
    ]);
    expect(readdirSync(dir).sort()).toEqual(['blazeface.group1-shard1of1.bin', 'blazeface.group2-shard1of1.bin', 'blazeface.json']);
    expect(JSON.parse(readFileSync(path, 'utf8')).userDefinedMetadata).toEqual({ a: 1 });

    const back = readTfjsFile(path);
    expect(back.kind).toBe('graph-model');
    expect([...toFloat32(back.tensors[1]!.tensor)]).toEqual([1, 2]);
    const err = Math.max(...Array.from(toFloat32(back.tensors[0]!.tensor), (v, i) => Math.abs(v - w[i]!)));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThanOrEqual((9.9 / 255) * 0.5 * 1.001);
  });

  it('a missing or short shard is an error naming the JSON and the shard', () => {
    const sub = mkdtempSync(join(dir, 'm-'));
    const path = join(sub, 'model.json');
    writeTfjsFiles(path, model, [{ name: 'w', tensor: f32([1, 2, 3, 4], [4]) }], { shardSize: 8 });
    writeFileSync(join(sub, 'model.group1-shard2of2.bin'), new Uint8Array(3));
    expect(() => readTfjsFile(path)).toThrow(expect.objectContaining({ code: 'E_TRUNCATED', file: path }));
    unlinkSync(join(sub, 'model.group1-shard2of2.bin'));
    let caught: unknown;
    try {
      readTfjsFile(path);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ModelpressError);
    expect((caught as ModelpressError).code).toBe('E_NOT_FOUND');
    expect((caught as ModelpressError).message).toContain(path);
    expect((caught as ModelpressError).message).toContain('model.group1-shard2of2.bin');
    expect(() => readTfjsFile(join(sub, 'nope.json'))).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });

  it('refuses absolute shard paths, and a bad write leaves nothing behind', () => {
    const sub = mkdtempSync(join(dir, 'a-'));
    const path = join(sub, 'evil.json');
    writeFileSync(
      path,
      JSON.stringify({ ...model, weightsManifest: [{ paths: ['/etc/passwd'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }] }] }),
    );
    expect(() => readTfjsFile(path)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    expect(() => resolveTfjsShardPath(path, '../x.bin')).toThrow(/out of the model's directory/);
    expect(() => resolveTfjsShardPath(path, 'https://example.com/x.bin')).toThrow(/URL/);
    expect(resolveTfjsShardPath(path, './sub/../g.bin')).toBe(join(sub, 'g.bin'));
    const out = join(sub, 'out.json');
    expect(() => writeTfjsFiles(out, model, [{ name: 'x', tensor: makeTensor('int4', [2], new Uint8Array(1)) }])).toThrow(ModelpressError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(sub)).toEqual(['evil.json']);
  });
});
