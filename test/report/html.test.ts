import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { classMeanFixture, type ClassMeanFixture } from '../eval/helpers.js';

let fx: ClassMeanFixture;
beforeAll(() => {
  fx = classMeanFixture();
});

describe('HTML report in a real browser', () => {
  it('renders all charts offline with no console errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-html-'));
    const report = join(dir, 'report.html');
    const io = memoryIO();
    const code = await run(
      ['compare', fx.model, fx.biasOnly, fx.perturbed, '--data', 'fashion-mnist', '--limit', '2000', '--runs', '5', '--report', report],
      io,
    );
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const html = readFileSync(report, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // self-contained

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const context = await browser.newContext({ offline: true, viewport: { width: 1300, height: 1000 } });
      const page = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(`file://${report}`);
      await page.waitForFunction(() => (window as unknown as { modelpressCharts?: unknown[] }).modelpressCharts !== undefined, undefined, {
        timeout: 10000,
      });
      const state = await page.evaluate(() => {
        const w = window as unknown as { Chart: { instances: Record<string, { config: { type: string } }> }; modelpressCharts: unknown[] };
        const canvases = [...document.querySelectorAll('canvas')].map((c) => {
          const ctx = c.getContext('2d')!;
          const { data } = ctx.getImageData(0, 0, c.width, c.height);
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
          return { id: c.id, width: c.width, height: c.height, painted };
        });
        return {
          types: Object.values(w.Chart.instances)
            .map((c) => c.config.type)
            .sort(),
          canvases,
        };
      });
      // latency, F1, energy per model, energy per layer of each model
      expect(state.types).toEqual(['bar', 'bar', 'bar', 'bar', 'bar', 'bar', 'matrix', 'matrix', 'matrix', 'scatter']);
      expect(state.canvases.map((c) => c.id)).toEqual([
        'pareto',
        'latency',
        'f1',
        'cm-0',
        'cm-1',
        'cm-2',
        'energy',
        'energy-layers-0',
        'energy-layers-1',
        'energy-layers-2',
      ]);
      for (const c of state.canvases) {
        expect(c.width).toBeGreaterThan(100);
        expect(c.painted / (c.width * c.height)).toBeGreaterThan(0.02);
      }
      // The heat map really is a heat map: its cells cover much of the plot.
      expect(state.canvases.find((c) => c.id === 'cm-0')!.painted / (state.canvases[3]!.width * state.canvases[3]!.height)).toBeGreaterThan(
        0.3,
      );
      await page.screenshot({ path: '/tmp/modelpress-eval-report.png', fullPage: true });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60000);
});
