import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadChartAssets } from '../../src/cli/evaluation.js';
import { renderSensitivityHtml } from '../../src/compress/sensitivity-html.js';
import { greedyPlan, type SensitivityResult } from '../../src/compress/sensitivity.js';

const layer = (name: string, weights: number, drops: number[]) => ({
  layer: name,
  kind: 'fc' as const,
  shape: [weights],
  weights,
  levels: ['int8', 'int4', 'kmeans-4', 'kmeans-3', 'kmeans-2'].map((level, i) => ({
    level,
    bitsPerWeight: [8, 4.1, 4, 3, 2][i]!,
    accuracy: 0.9 - drops[i]!,
    drop: drops[i]!,
  })),
});

describe('sensitivity HTML page', () => {
  it('is self-contained and draws a Chart.js line chart in a real browser, offline', async () => {
    const layers = [
      layer('fc1.weight', 235200, [0, 0.001, 0.002, 0.004, 0.03]),
      layer('fc2.weight', 30000, [0, 0.002, 0.003, 0.01, 0.05]),
      layer('fc3.weight', 1000, [0, 0.01, 0.01, 0.03, 0.2]),
    ];
    const plan = greedyPlan(layers, 0.1);
    const result: SensitivityResult = {
      method: 'quant',
      baseline: 0.9,
      examples: 1000,
      layers,
      suggestion: { ...plan, accuracy: 0.89, drop: 0.01 },
    };
    const html = renderSensitivityHtml(result, loadChartAssets(), { model: 'lenet <300>.onnx' });
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('lenet &lt;300&gt;.onnx');
    const dir = mkdtempSync(join(tmpdir(), 'mp-sens-html-'));
    const path = join(dir, 'sens.html');
    writeFileSync(path, html);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await (await browser.newContext({ offline: true, viewport: { width: 1000, height: 900 } })).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`file://${path}`);
      const state = await page.evaluate(() => {
        const w = window as unknown as {
          Chart: { instances: Record<string, { config: { type: string }; data: { datasets: unknown[]; labels: string[] } }> };
        };
        const charts = Object.values(w.Chart.instances);
        const c = document.querySelector('canvas')!;
        const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
        return {
          types: charts.map((x) => x.config.type),
          datasets: charts[0]?.data.datasets.length,
          labels: charts[0]?.data.labels,
          painted: painted / (c.width * c.height),
        };
      });
      expect(errors).toEqual([]);
      expect(state.types).toEqual(['line']);
      expect(state.datasets).toBe(3);
      expect(state.labels).toEqual(['int8', 'int4', 'kmeans-4', 'kmeans-3', 'kmeans-2']);
      expect(state.painted).toBeGreaterThan(0.02);
      await page.screenshot({ path: '/tmp/modelpress-sensitivity-report.png', fullPage: true });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
