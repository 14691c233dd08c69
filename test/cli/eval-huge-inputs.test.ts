/** eval on a model whose declared input is enormous: a typed E_LIMIT at once, not an allocation failure (issue 12 row 10). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-huge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function identity(shape: (number | string)[]): string {
  const b = new GraphBuilder();
  b.input('x', 'float32', shape);
  b.node('Identity', ['x'], { outputs: ['y'] });
  b.output('y', 'float32', shape);
  const path = join(dir, `identity-${shape.join('x')}.onnx`);
  writeFileSync(path, writeOnnx(makeModel(b.graph)));
  return path;
}

describe('eval with random inputs', () => {
  it.each([[[65536, 65536]], [[1, 1e9]]])('refuses a declared input of shape %j with E_LIMIT', async (shape) => {
    const r = await cli('eval', identity(shape));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_LIMIT.*random input 'x'.*--dim/);
  });

  it('refuses a symbolic dim bound too large by --dim', async () => {
    const r = await cli('eval', identity(['N', 4096]), '--dim', 'N=1000000');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_LIMIT/);
  });

  it('still evaluates a model of ordinary size', async () => {
    const r = await cli('eval', identity([2, 3]), '--json');
    expect(r.code).toBe(0);
  });
});
