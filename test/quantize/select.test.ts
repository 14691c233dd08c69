/** The one selection language (src/graph/select.ts) and quantize's use of it. */
import { describe, expect, it } from 'vitest';
import { compileFilter, compilePattern, patternRegExp, selectionKeys } from '../../src/graph/select.js';
import { makeSelection } from '../../src/quantize/select.js';
import type { WeightDef } from '../../src/graph/weights.js';

const node = (name: string, opType: string) => ({ name, opType });

describe('selection patterns', () => {
  it('a plain name matches exactly, not as a prefix or substring', () => {
    expect(compilePattern('conv1')(['conv1'])).toBe(true);
    expect(compilePattern('conv1')(['conv10', 'xconv1'])).toBe(false);
    expect(compilePattern('fc1.weight')(['fc1xweight'])).toBe(false); // '.' is literal
  });

  it('globs: * any run, ? one character, anchored at both ends', () => {
    expect(compilePattern('fc*')(['fc1.weight'])).toBe(true);
    expect(compilePattern('fc*')(['the_fc1'])).toBe(false);
    expect(compilePattern('conv?.weight')(['conv2.weight'])).toBe(true);
    expect(compilePattern('conv?.weight')(['conv12.weight'])).toBe(false);
    expect(compilePattern('*')([''])).toBe(true);
  });

  it('/regex/flags: unanchored JavaScript expressions; g and y ignored so repeated tests agree', () => {
    expect(compilePattern('/^conv/')(['conv_3'])).toBe(true);
    expect(compilePattern('/^conv/')(['xconv'])).toBe(false);
    expect(compilePattern('/matmul|gemm/i')(['Gemm'])).toBe(true);
    const g = compilePattern('/a/g');
    expect([g(['a']), g(['a']), g(['a'])]).toEqual([true, true, true]);
  });

  it('a slash-led tensor name whose tail is not flags is a literal, not a regex', () => {
    expect(patternRegExp('/layer1/Conv_output_0').test('/layer1/Conv_output_0')).toBe(true);
    expect(compilePattern('/layer1/Conv_output_0')(['layer1'])).toBe(false);
    expect(compilePattern('/model/*/Conv')(['/model/block.0/Conv'])).toBe(true);
  });

  it('a bad regular expression is E_ARG naming the pattern', () => {
    expect(() => compilePattern('/(unclosed/')).toThrow(
      expect.objectContaining({ code: 'E_ARG', message: expect.stringContaining('/(unclosed/') }),
    );
  });

  it('keys: tensor name, consumer node name, label and op type', () => {
    const def = {
      name: 'w',
      consumers: [
        { label: 'MatMul_3', node: node('', 'MatMul') },
        { label: 'proj', node: node('proj', 'Gemm') },
      ],
    };
    expect(selectionKeys(def)).toEqual(['w', 'MatMul_3', 'MatMul', 'proj', 'Gemm']);
  });

  it('include keeps what any include matches, exclude then removes', () => {
    const f = compileFilter(['fc*', 'Conv'], ['fc2*']);
    expect(f.reasonSkipped(['fc1.weight', 'Gemm'])).toBeUndefined();
    expect(f.reasonSkipped(['c.weight', 'Conv'])).toBeUndefined();
    expect(f.reasonSkipped(['fc2.weight', 'Gemm'])).toBe('matched by --exclude');
    expect(f.reasonSkipped(['emb', 'Gather'])).toBe('not matched by --include');
    expect(compileFilter().reasonSkipped(['anything'])).toBeUndefined();
  });
});

describe('quantize selection', () => {
  const def = (name: string, label: string, opType: string) =>
    ({ name, consumers: [{ label, node: { name: label, opType } }] }) as unknown as WeightDef;

  it('patterns, then --min-size, with the reason a weight is left', () => {
    const s = makeSelection(['/^conv/', 'MatMul'], ['conv_skip'], 256);
    expect(s.reasonSkipped(def('conv_1.w', 'Conv_0', 'Conv'), 1000)).toBeUndefined();
    expect(s.reasonSkipped(def('lin.w', 'lin', 'MatMul'), 1000)).toBeUndefined();
    expect(s.reasonSkipped(def('emb', 'g', 'Gather'), 1000)).toBe('not matched by --include');
    expect(s.reasonSkipped(def('w', 'conv_skip', 'Conv'), 1000)).toBe('matched by --exclude'); // the label matched /^conv/ too
    expect(s.reasonSkipped(def('conv_2.w', 'conv_skip', 'Conv'), 1000)).toBe('matched by --exclude');
    expect(s.reasonSkipped(def('conv_3.w', 'Conv_1', 'Conv'), 100)).toBe('smaller than --min-size 256');
  });
});
