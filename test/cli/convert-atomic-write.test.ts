/** The atomic file helpers convert relies on (src/node/fs.ts): nothing half-written is ever left. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { fileSize, readFileChecked, writeFileAtomic, writeFilesAtomic } from '../../src/node/fs.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mp-fs-'));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelpressError);
    return (e as ModelpressError).code;
  }
  return undefined;
}

describe('readFileChecked', () => {
  it('reads bytes and names the path on failure', () => {
    const dir = tempDir();
    const p = join(dir, 'a.bin');
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    expect(Array.from(readFileChecked(p))).toEqual([1, 2, 3]);
    expect(fileSize(p)).toBe(3);
    const missing = join(dir, 'missing.onnx');
    expect(codeOf(() => readFileChecked(missing))).toBe('E_NOT_FOUND');
    expect(() => readFileChecked(missing)).toThrow(missing);
    expect(codeOf(() => readFileChecked(dir))).toBe('E_IO');
    expect(codeOf(() => fileSize(missing))).toBe('E_NOT_FOUND');
  });
});

describe('writeFileAtomic', () => {
  it('writes one buffer or chunks, replacing an existing file, leaving no temp', () => {
    const dir = tempDir();
    const p = join(dir, 'out.bin');
    writeFileAtomic(p, Uint8Array.of(9, 9));
    writeFileAtomic(p, [Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]);
    expect(Array.from(readFileSync(p))).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('fails with a clear error and leaves nothing when the directory is missing', () => {
    const dir = tempDir();
    const p = join(dir, 'nodir', 'out.bin');
    expect(codeOf(() => writeFileAtomic(p, Uint8Array.of(1)))).toBe('E_NOT_FOUND');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('writeFilesAtomic', () => {
  it('writes a set of files', () => {
    const dir = tempDir();
    writeFilesAtomic([
      { path: join(dir, 'model.json'), data: new TextEncoder().encode('{}') },
      { path: join(dir, 'group1-shard1of1.bin'), data: Uint8Array.of(1, 2) },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  });

  it('is all-or-nothing: a failing file removes the temps of the others', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    // the second target is an existing non-empty directory: rename onto it fails
    writeFileSync(join(dir, 'sub', 'keep'), 'x');
    expect(
      codeOf(() =>
        writeFilesAtomic([
          { path: join(dir, 'a.onnx'), data: Uint8Array.of(1) },
          { path: join(dir, 'sub'), data: Uint8Array.of(2) },
        ]),
      ),
    ).toBe('E_IO');
    expect(readdirSync(dir).sort()).toEqual(['sub']);
    expect(existsSync(join(dir, 'a.onnx'))).toBe(false);
  });

  it('cleans up when the directory is not writable', () => {
    if (process.getuid?.() === 0) return; // root ignores permissions; covered by the missing-directory case
    const dir = tempDir();
    chmodSync(dir, 0o555);
    try {
      expect(codeOf(() => writeFilesAtomic([{ path: join(dir, 'a'), data: Uint8Array.of(1) }]))).toBe('E_IO');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('rejects the same path twice', () => {
    const dir = tempDir();
    const p = join(dir, 'x');
    expect(
      codeOf(() =>
        writeFilesAtomic([
          { path: p, data: Uint8Array.of(1) },
          { path: p, data: Uint8Array.of(2) },
        ]),
      ),
    ).toBe('E_ARG');
    expect(readdirSync(dir)).toEqual([]);
  });
});
