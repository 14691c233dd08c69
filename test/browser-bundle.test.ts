/**
 * The browser decoder stays within its 25 KB (min+gz) budget and pulls in
 * no Node built-in: esbuild bundles src/browser/decode.ts for the browser
 * platform, which fails on any `node:` import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROWSER_BUDGET, bundleBrowserDecoder } from '../support/browser-bundle.js';
import { describe, expect, it } from 'vitest';

describe('browser decoder bundle', () => {
  it('bundles for the browser without Node APIs, within its 25 KiB budget minified and gzipped', async () => {
    const { js, min, gz } = await bundleBrowserDecoder();
    expect(new TextDecoder().decode(js)).not.toMatch(/["']node:/);
    console.log(`browser decoder: ${min} bytes min, ${gz} bytes min+gz`);
    expect(gz).toBeLessThanOrEqual(BROWSER_BUDGET);
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
