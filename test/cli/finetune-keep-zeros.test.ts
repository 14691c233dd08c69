import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { toFloat32 } from '../../src/core/tensor.js';
import { readOnnx, tensorFromProto, writeOnnx } from '../../src/formats/onnx/index.js';
import { buildZooModel } from '../../src/train/zoo/index.js';

function zeros(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const tp of readOnnx(new Uint8Array(readFileSync(path))).proto.graph!.initializer) {
    if (tp.dataType !== 1) continue;
    out.set(tp.name, toFloat32(tensorFromProto(tp)).filter((v) => v === 0).length);
  }
  return out;
}

describe('modelpress finetune --keep-zeros', () => {
  it('holds a pruned model at its zeros, where plain finetune does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-ft-'));
    const dense = join(dir, 'dense.onnx');
    writeFileSync(dense, writeOnnx(buildZooModel('lenet-300-100', { seed: 3 })));
    const pruned = join(dir, 'pruned.onnx');
    const io = memoryIO();
    expect(await run(['prune', dense, '-o', pruned, '--sparsity', '0.9'], io), io.err).toBe(0);
    const before = zeros(pruned);
    expect([...before.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(200_000);
    const common = ['--data', 'fashion-mnist', '--epochs', '1', '--limit', '3000', '--val-size', '500', '--json'];
    const kept = join(dir, 'kept.onnx');
    const io2 = memoryIO();
    expect(await run(['finetune', pruned, '-o', kept, '--keep-zeros', ...common], io2), io2.err).toBe(0);
    const after = zeros(kept);
    for (const [name, n] of before) if (n > 0) expect(after.get(name), name).toBe(n);
    const loose = join(dir, 'loose.onnx');
    expect(await run(['finetune', pruned, '-o', loose, ...common], memoryIO())).toBe(0);
    const lost = [...zeros(loose).values()].reduce((a, b) => a + b, 0);
    expect(lost).toBeLessThan([...before.values()].reduce((a, b) => a + b, 0) / 2);
  });
});
