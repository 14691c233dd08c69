/**
 * The browser decoder stays within its 25 KB (min+gz) budget and pulls in
 * no Node built-in: esbuild bundles src/browser/decode.ts for the browser
 * platform, which fails on any `node:` import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('browser decoder bundle', () => {
  it('bundles for the browser without Node APIs, under 25,000 bytes minified and gzipped', async () => {
    const r = await build({
      entryPoints: ['src/browser/decode.ts'],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      target: 'es2022',
      logLevel: 'silent',
    });
    const js = r.outputFiles[0]!.contents;
    expect(new TextDecoder().decode(js)).not.toMatch(/["']node:/);
    const gz = gzipSync(js, { level: 9 }).length;
    console.log(`browser decoder: ${js.length} bytes min, ${gz} bytes min+gz`);
    expect(gz).toBeLessThan(25_000);
  });
});

describe('library core is browser-safe', () => {
  it('no file under src/ outside src/node and src/cli imports a Node built-in or touches process/Buffer', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (p !== join('src', 'node') && p !== join('src', 'cli')) walk(p);
        } else if (p.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          if (/from\s+['"]node:|import\(\s*['"]node:|\bprocess\.|\bBuffer\./.test(text)) offenders.push(p);
        }
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});
