import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packModel, unpackModel } from '../../src/codec/container/index.js';
import { readBytes } from './container-helpers.js';

const ROOT = '/usr/share/libonnx-testdata/data';

function findModels(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findModels(p, out);
    else if (name === 'model.onnx') out.push(p);
  }
  return out;
}

describe('.mpz lossless on the libonnx-testdata models', () => {
  it('every model.onnx packs and unpacks byte-identical, split into skeleton + tensors', () => {
    const models = findModels(ROOT).sort();
    expect(models.length).toBeGreaterThan(1000);
    const failures: string[] = [];
    let fallbacks = 0;
    let tensors = 0;
    for (const path of models) {
      const original = readBytes(path);
      // the generic coder is limited to small payloads to keep this sweep quick; every other candidate runs
      const { bytes, report } = packModel(
        { format: 'onnx', files: [{ name: '', bytes: original }] },
        { verify: false, genericLimit: 4096 },
      );
      if (report.fallback) fallbacks++;
      tensors += report.tensors.length;
      const back = unpackModel(bytes).files[0]!.bytes;
      if (Buffer.compare(Buffer.from(back), Buffer.from(original)) !== 0) failures.push(path);
    }
    expect(failures).toEqual([]);
    expect(fallbacks).toBe(0);
    expect(tensors).toBeGreaterThan(20); // most node-test models hold only tiny (< 64 B) constants, kept in the skeleton
  });
});
