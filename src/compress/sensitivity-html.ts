/**
 * Self-contained HTML page for a sensitivity analysis: the result embedded
 * as JSON, Chart.js inlined (its source is passed in, so this module reads
 * no files, as src/report/html.ts does), a line chart of the accuracy drop
 * per layer across levels, the table, and the suggested per-layer setting.
 */
import { escapeHtml, htmlPage } from '../core/html.js';
import type { SensitivityResult } from './sensitivity.js';

const pts = (x: number): string => (x * 100).toFixed(2);

/** Table rows: one per layer, one column per level (accuracy drop in points). */
export function sensitivityTable(r: SensitivityResult): { header: string[]; rows: string[][] } {
  const levels = r.layers[0]?.levels.map((l) => l.level) ?? [];
  return {
    header: ['layer', 'kind', 'weights', ...levels.map((l) => `${l} drop (pts)`)],
    rows: r.layers.map((l) => [l.layer, l.kind, String(l.weights), ...l.levels.map((x) => pts(x.drop))]),
  };
}

export function renderSensitivityHtml(
  r: SensitivityResult,
  assets: { chartJs: string },
  options: { title?: string; model?: string } = {},
): string {
  const title = options.title ?? `modelpress sensitivity (${r.method})`;
  const { header, rows } = sensitivityTable(r);
  const table = `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((c, i) => `<td${i >= 2 ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  const s = r.suggestion;
  const suggestion = s
    ? `<h2>Suggested setting for ${pts(s.targetRatio)}% of the float32 size</h2>
<p>Size ${pts(s.ratio)}% of float32${s.reached ? '' : ' (target not reachable with these levels)'}; estimated drop ${pts(s.estimatedDrop)} pts, measured drop ${pts(s.drop)} pts (accuracy ${pts(s.accuracy)}%).</p>
<table><thead><tr><th>layer</th><th>setting</th><th>bits/weight</th><th>drop alone (pts)</th></tr></thead><tbody>${s.layers
        .map(
          (l) =>
            `<tr><td>${escapeHtml(l.layer)}</td><td>${escapeHtml(l.level)}</td><td class="num">${l.bitsPerWeight.toFixed(2)}</td><td class="num">${pts(l.drop)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  return htmlPage({
    title,
    css: '.box { position: relative; height: 360px; max-width: 820px; }',
    body: `<p>${options.model ? `Model <code>${escapeHtml(options.model)}</code>. ` : ''}Baseline accuracy ${pts(r.baseline)}% on ${r.examples} examples; each cell compresses one layer only.</p>
<figure><figcaption>Accuracy drop (points) per layer and level</figcaption><div class="box"><canvas id="sensitivity"></canvas></div></figure>
${table}
${suggestion}`,
    data: { id: 'modelpress-sensitivity', value: r },
    scripts: [assets.chartJs, PAGE_SCRIPT],
  });
}

const PAGE_SCRIPT = `
(function () {
  var r = JSON.parse(document.getElementById('modelpress-sensitivity').textContent);
  var levels = r.layers.length ? r.layers[0].levels.map(function (l) { return l.level; }) : [];
  var colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  new Chart(document.getElementById('sensitivity'), {
    type: 'line',
    data: {
      labels: levels,
      datasets: r.layers.map(function (l, i) {
        return { label: l.layer, data: l.levels.map(function (x) { return x.drop * 100; }), borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length], tension: 0 };
      })
    },
    options: { maintainAspectRatio: false, animation: false, scales: { y: { title: { display: true, text: 'accuracy drop (points)' } }, x: { title: { display: true, text: 'level' } } } }
  });
})();
`;
