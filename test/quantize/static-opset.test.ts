import { describe, expect, it } from 'vitest';
import { cloneSharingBytes, writeOnnx } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { defaultOpsetOf } from '../../src/quantize/opset.js';
import { canUpgradeOpset, upgradeOpset } from '../../src/quantize/opset-upgrade.js';
import { fidelity, rng, runAll } from '../../support/quantize-fixtures.js';

function oldModel() {
  const b = new GraphBuilder();
  b.input('x', 'float32', [2, 3, 4, 1]);
  const s = b.op('Slice', ['x'], { starts: [0, 1], ends: [2, 3], axes: [0, 1] });
  const c = b.op('Clip', [s], { min: { float: -0.3 }, max: { float: 0.4 } });
  const q = b.op('Squeeze', [c], { axes: [3] });
  const sm = b.op('Softmax', [q], { axis: 1 }); // opset < 13: normalizes over axes 1 and 2 together
  b.node('LogSoftmax', [sm], { outputs: ['y'], attrs: { axis: -1 } });
  b.output('y', 'float32');
  return makeModel(b.graph, { opset: 9, irVersion: 7 });
}

describe('upgradeOpset', () => {
  it('rewrites Slice, Clip, Squeeze and Softmax(axis 1) from opset 9 to 13 without changing the results', async () => {
    const m = oldModel();
    const up = cloneSharingBytes(m);
    expect(canUpgradeOpset(up, 13)).toBe(true);
    expect(upgradeOpset(up, 13, 'test')).toEqual(['Clip', 'LogSoftmax', 'Slice', 'Softmax', 'Squeeze']);
    expect(defaultOpsetOf(up)).toBe(13);
    expect(up.graph!.node.map((n) => n.opType)).toEqual([
      'Slice',
      'Clip',
      'Squeeze',
      'Flatten',
      'Shape',
      'Softmax',
      'Reshape',
      'LogSoftmax',
    ]);
    const r = rng(9);
    const feeds = [0, 1].map(() => ({
      x: { dtype: 'float32', shape: [2, 3, 4, 1], data: Float32Array.from({ length: 24 }, () => r() * 2 - 1) },
    }));
    const fi = fidelity(await runAll(writeOnnx(m), feeds), await runAll(writeOnnx(up), feeds));
    expect(fi.snrDb).toBeGreaterThan(100);
  });

  it('refuses ops it cannot rewrite, naming them', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 1, 2, 2]);
    b.node('Upsample', ['x', b.constant('float32', [4], [1, 1, 2, 2])], { outputs: ['y'] });
    b.output('y', 'float32');
    const m = makeModel(b.graph, { opset: 9, irVersion: 7 });
    expect(canUpgradeOpset(m, 13)).toBe(false);
    expect(() => upgradeOpset(m, 13, 'static quantization')).toThrow(
      /static quantization needs opset 13, the model has opset 9, and raising it would change Upsample/,
    );
  });
});
