/**
 * The whole inspect pipeline (file read, detection, reader, statistics,
 * rendering) on corrupted files: exit 0 or 1 with a message naming the file,
 * never an internal error (exit 70).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { fromFloat32 } from '../../src/core/tensor.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { prng } from '../../support/fuzz.js';

describe('fuzz: modelpress inspect on corrupted files', () => {
  it('60 mutated ONNX, safetensors and TF.js files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-fuzz-cli-'));
    const onnx = new Uint8Array(readFileSync('/usr/share/libonnx-testdata/data/node/test_if/model.onnx'));
    const st = writeSafetensors([{ name: 'w', tensor: fromFloat32(Float32Array.of(1, 2, 3, 4), 'float32', [2, 2]) }], { k: 'v' });
    writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(16));
    const tfjs = new TextEncoder().encode(
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
      }),
    );
    const rand = prng(42);
    const outcomes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const [ext, input] = (
        [
          ['onnx', onnx],
          ['safetensors', st],
          ['json', tfjs],
        ] as const
      )[i % 3]!;
      const bytes = input.slice();
      if (rand() < 0.4) bytes.fill(0, Math.floor(rand() * bytes.length));
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) bytes[Math.floor(rand() * bytes.length)]! ^= 1 << Math.floor(rand() * 8);
      const p = join(dir, `case${i}.${ext}`);
      writeFileSync(p, rand() < 0.3 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes);
      const io = memoryIO();
      const code = await run(['inspect', p, ...(i % 2 ? ['--json'] : [])], io);
      expect([0, 1], `case ${i}: ${io.err}`).toContain(code);
      if (code === 1) expect(io.err).toContain(p);
      outcomes.push(code);
    }
    expect(outcomes.filter((c) => c === 1).length).toBeGreaterThan(10);
  });
});
