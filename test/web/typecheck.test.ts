/**
 * The web app's sources type-check (web/tsconfig.json: browser libs, bundler
 * resolution, `modelpress` mapped to src/lib). The root type check does not
 * cover web/src, and Vite strips types without checking them.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

describe('web app sources', () => {
  it('type-check under web/tsconfig.json', () => {
    let out = '';
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'web/tsconfig.json')], {
        encoding: 'utf8',
      });
    } catch (e) {
      out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}` || String(e);
    }
    expect(out).toBe('');
  });
});
