import { describe, expect, it } from 'vitest';
import { TFJS_MAX_JSON_DEPTH, parseTfjsJson, checkWeightsManifest } from '../../../src/formats/tfjs/manifest.js';
import { readTfjs } from '../../../src/formats/tfjs/read.js';

function deep(n: number): string {
  return `{"format":"graph-model","modelTopology":${'['.repeat(n)}${']'.repeat(n)}}`;
}

describe('hostile TF.js model JSON (issue 12 row 10)', () => {
  it('refuses a topology nested 20,000 deep with E_LIMIT, naming the file', () => {
    expect(() => parseTfjsJson(deep(20000), 'm.json')).toThrow(expect.objectContaining({ code: 'E_LIMIT', file: 'm.json' }));
  });
  it('accepts nesting up to the limit', () => {
    expect(() => parseTfjsJson(deep(TFJS_MAX_JSON_DEPTH - 2))).not.toThrow();
  });
  it.each([['"NaN"'], ['1.5'], ['-1'], ['1e400'], ['null']])('refuses shape entry %s with E_CORRUPT', (d) => {
    const json = parseTfjsJson(
      `{"format":"graph-model","weightsManifest":[{"paths":[],"weights":[{"name":"w","dtype":"float32","shape":[2,${d}]}]}]}`,
    );
    expect(() => checkWeightsManifest(json, 'm.json')).toThrow(expect.objectContaining({ code: 'E_CORRUPT', file: 'm.json' }));
  });
  it('refuses a huge but integral shape as truncated, without allocating', () => {
    const json = `{"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["s.bin"],"weights":[{"name":"w","dtype":"float32","shape":[9007199254740991,9007199254740991]}]}]}`;
    expect(() => readTfjs(json, () => new Uint8Array(8), 'm.json')).toThrow(expect.objectContaining({ code: 'E_TRUNCATED' }));
  });
});
