/** writeUnpacked: the files an .mpz names besides the output never replace existing files nor follow links out of the folder. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UnpackedModel } from '../../src/codec/container/assemble.js';
import { writeUnpacked } from '../../src/node/pack-files.js';

const dirs: string[] = [];
const temp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const model = (second: string): UnpackedModel => ({
  format: 'onnx',
  files: [
    { name: '', bytes: new Uint8Array([1, 2, 3]) },
    { name: second, bytes: new Uint8Array([4, 5]) },
  ],
});

describe('writeUnpacked', () => {
  it('refuses to replace an existing file the container names (.bashrc, .git/config) unless forced', () => {
    const dst = temp('mp-unpack-');
    mkdirSync(join(dst, '.git'));
    writeFileSync(join(dst, '.git', 'config'), 'mine');
    expect(() => writeUnpacked(join(dst, 'model.onnx'), model('.git/config'))).toThrow(/would overwrite an existing file; pass --force/);
    expect(readFileSync(join(dst, '.git', 'config'), 'utf8')).toBe('mine');
    expect(existsSync(join(dst, 'model.onnx'))).toBe(false);
    writeUnpacked(join(dst, 'model.onnx'), model('.git/config'), { force: true });
    expect([...readFileSync(join(dst, '.git', 'config'))]).toEqual([4, 5]);
  });

  it('never writes through a symbolic link below the output folder', () => {
    const dst = temp('mp-unpack-');
    const outside = temp('mp-outside-');
    symlinkSync(outside, join(dst, 'sub'));
    expect(() => writeUnpacked(join(dst, 'model.onnx'), model('sub/data.bin'))).toThrow(/through the symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(dst, 'model.onnx'))).toBe(false);
    symlinkSync(join(outside, 'target'), join(dst, 'data.bin'));
    expect(() => writeUnpacked(join(dst, 'model.onnx'), model('data.bin'), { force: true })).toThrow(/through the symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('writes new files below the folder as before', () => {
    const dst = temp('mp-unpack-');
    const paths = writeUnpacked(join(dst, 'model.onnx'), model('model.data'));
    expect(paths).toEqual([join(dst, 'model.onnx'), join(dst, 'model.data')]);
    expect([...readFileSync(join(dst, 'model.data'))]).toEqual([4, 5]);
  });
});
