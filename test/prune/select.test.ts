/** Pruning picks weights with the one selection language: globs, /regex/ and op types, as quantize does. */
import { describe, expect, it } from 'vitest';
import { selectPrunableWeights } from '../../src/prune/select.js';
import { buildZooModel } from '../../src/train/zoo/index.js';

describe('selectPrunableWeights include / exclude', () => {
  const model = buildZooModel('lenet-5', { seed: 1 });
  const names = (filter: { include?: string[]; exclude?: string[] }) => selectPrunableWeights(model, filter).weights.map((w) => w.name);
  const all = names({});

  it('selects every Conv/Gemm weight without patterns', () => {
    expect(all).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']);
  });

  it('globs over the weight name and its consumers', () => {
    expect(names({ include: ['fc*'] })).toEqual(['fc1.weight', 'fc2.weight']);
    expect(names({ include: ['conv?.weight'] })).toEqual(['conv1.weight', 'conv2.weight']);
  });

  it('regular expressions and op types, as in quantize', () => {
    expect(names({ include: ['/^conv/'] })).toEqual(['conv1.weight', 'conv2.weight']);
    const convOp = names({ include: ['Conv'] });
    expect(convOp).toEqual(['conv1.weight', 'conv2.weight']);
    expect(names({ exclude: ['/1\\.weight$/'] })).toEqual(['conv2.weight', 'fc2.weight']);
  });
});
