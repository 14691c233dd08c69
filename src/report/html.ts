/**
 * Self-contained HTML report: the canonical records embedded as JSON, Chart.js
 * and chartjs-chart-matrix inlined (their source text is passed in, so this
 * module reads no files), four charts: size vs accuracy with the Pareto front,
 * latency bars, per-class F1 and confusion-matrix heat maps. Opens offline.
 */
import { escapeHtml, htmlPage } from '../core/html.js';
import { summaryRows } from './format.js';
import type { EvalRecord } from './record.js';

export interface ChartAssets {
  /** Source of chart.js/dist/chart.umd.min.js (defines window.Chart). */
  readonly chartJs: string;
  /** Source of chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js (UMD, after Chart). */
  readonly chartMatrixJs: string;
}

export function renderHtml(records: readonly EvalRecord[], assets: ChartAssets, options: { title?: string } = {}): string {
  const title = options.title ?? 'modelpress evaluation';
  const { header, rows } = summaryRows(records);
  const tableHtml = `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  const confusionCanvases = records
    .map((r, i) =>
      r.confusionMatrix
        ? `<figure class="cm"><figcaption>Confusion matrix: ${escapeHtml(r.model)}</figcaption><div class="box square"><canvas id="cm-${i}"></canvas></div></figure>`
        : '',
    )
    .join('');
  const first = records[0];
  const dataLine = first
    ? `Data: <code>${escapeHtml(first.data.source)}</code>, ${first.data.samples} ${first.data.labeled ? 'labelled samples' : 'runs'}, batch size ${first.data.batchSize}.`
    : '';
  return htmlPage({
    title,
    css: `.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 24px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 6px; }
.box { position: relative; height: 320px; }
.box.square { height: 420px; max-width: 480px; }`,
    body: `<p>${dataLine}</p>
${tableHtml}
<div class="grid">
<figure><figcaption>Size vs accuracy (Pareto front)</figcaption><div class="box"><canvas id="pareto"></canvas></div></figure>
<figure><figcaption>Latency at batch 1 (ms)</figcaption><div class="box"><canvas id="latency"></canvas></div></figure>
<figure><figcaption>F1 per class</figcaption><div class="box"><canvas id="f1"></canvas></div></figure>
${confusionCanvases}
${energyFigures(records)}
</div>`,
    data: { id: 'modelpress-data', value: records },
    scripts: [assets.chartJs, assets.chartMatrixJs, REPORT_SCRIPT],
  });
}

/** Energy charts: compute and memory per model, and each model's 30 costliest layers. */
function energyFigures(records: readonly EvalRecord[]): string {
  if (!records.some((r) => r.energy)) return '';
  const sparse = records.some((r) => r.energy?.sparse && r.energy.sparse.totalUJ <= 0.99 * r.energy.totalUJ)
    ? ' (dense, and ideally sparse as a bar of its own)'
    : '';
  const layers = records
    .map((r, i) =>
      r.energy && r.energy.layers.length > 0
        ? `<figure><figcaption>Energy per layer (µJ, the ${Math.min(LAYERS_SHOWN, r.energy.layers.length)} costliest of ${r.energy.layers.length}): ${escapeHtml(r.model)}</figcaption><div class="box"><canvas id="energy-layers-${i}"></canvas></div></figure>`
        : '',
    )
    .join('');
  return `<figure><figcaption>Energy per inference (µJ, estimate, ${escapeHtml(records.find((r) => r.energy)!.energy!.table)})${sparse}</figcaption><div class="box"><canvas id="energy"></canvas></div></figure>
${layers}`;
}

const LAYERS_SHOWN = 30;

/** The page's own script: builds the charts from the embedded records. */
const REPORT_SCRIPT = `
(function () {
  'use strict';
  var records = JSON.parse(document.getElementById('modelpress-data').textContent);
  var Chart = window.Chart;
  var matrix = window['chartjs-chart-matrix'];
  if (matrix && matrix.MatrixController) Chart.register(matrix.MatrixController, matrix.MatrixElement);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var charts = [];
  var MiB = 1024 * 1024;

  function quality(r) {
    if (r.accuracy !== null) return r.accuracy;
    if (r.fidelity && r.fidelity.top1Agreement !== null) return r.fidelity.top1Agreement;
    return r.fidelity ? r.fidelity.cosine : null;
  }
  var qualityLabel = records.some(function (r) { return r.accuracy !== null; }) ? 'accuracy' : 'agreement / cosine vs reference';

  // Pareto front: points not beaten by a smaller-or-equal model with higher-or-equal quality.
  var points = records.map(function (r, i) { return { x: r.sizeBytes / MiB, y: quality(r), label: r.model, i: i }; })
    .filter(function (p) { return p.y !== null; });
  var front = points.filter(function (p) {
    return !points.some(function (q) { return q !== p && q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y); });
  }).sort(function (a, b) { return a.x - b.x; });
  var modelSets = points.map(function (p) {
    return { label: p.label.split('/').pop(), data: [p], pointRadius: 7, pointHoverRadius: 9, backgroundColor: palette[p.i % palette.length], borderColor: palette[p.i % palette.length] };
  });
  modelSets.push({ label: 'Pareto front', data: front, showLine: true, pointRadius: 0, borderColor: '#888', borderDash: [4, 4], fill: false });
  charts.push(new Chart(document.getElementById('pareto'), {
    type: 'scatter',
    data: { datasets: modelSets },
    options: {
      scales: {
        x: { beginAtZero: true, grace: '10%', title: { display: true, text: 'size (MiB)' } },
        y: { grace: '5%', title: { display: true, text: qualityLabel } }
      },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.raw.label + ': ' + c.raw.x.toFixed(3) + ' MiB, ' + c.raw.y.toFixed(4); } } } }
    }
  }));

  var names = records.map(function (r) { return r.model.split('/').pop(); });
  charts.push(new Chart(document.getElementById('latency'), {
    type: 'bar',
    data: { labels: names, datasets: ['p50', 'p95', 'p99'].map(function (k, j) {
      return { label: k, backgroundColor: palette[j], data: records.map(function (r) { return r.latencyMs ? r.latencyMs[k] : null; }) };
    }) },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } }
  }));

  var withClasses = records.filter(function (r) { return r.perClass; });
  var classLabels = withClasses.length ? withClasses[0].perClass.map(function (c) { return String(c.class); }) : [];
  charts.push(new Chart(document.getElementById('f1'), {
    type: 'bar',
    data: { labels: classLabels, datasets: withClasses.map(function (r, j) {
      return { label: r.model.split('/').pop(), backgroundColor: palette[j % palette.length], data: r.perClass.map(function (c) { return c.f1; }) };
    }) },
    options: { scales: { y: { min: 0, max: 1, title: { display: true, text: 'F1' } }, x: { title: { display: true, text: 'class' } } } }
  }));

  records.forEach(function (r, i) {
    if (!r.confusionMatrix) return;
    var m = r.confusionMatrix, n = m.length, max = 1, cells = [];
    // One tick per class index, at the cell centres.
    var classTicks = function (scale) { scale.ticks = m.map(function (_, k) { return { value: k }; }); };
    for (var t = 0; t < n; t++) for (var p = 0; p < n; p++) { max = Math.max(max, m[t][p]); cells.push({ x: p, y: t, v: m[t][p] }); }
    charts.push(new Chart(document.getElementById('cm-' + i), {
      type: 'matrix',
      data: { datasets: [{
        label: 'count', data: cells,
        backgroundColor: function (c) { var v = c.raw ? c.raw.v : 0; return 'rgba(31,119,180,' + (0.04 + 0.96 * Math.sqrt(v / max)).toFixed(3) + ')'; },
        borderWidth: 0,
        width: function (c) { var a = c.chart.chartArea; return a ? a.width / n - 1 : 0; },
        height: function (c) { var a = c.chart.chartArea; return a ? a.height / n - 1 : 0; }
      }] },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: function () { return ''; }, label: function (c) { return 'true ' + c.raw.y + ', predicted ' + c.raw.x + ': ' + c.raw.v; } } } },
        scales: {
          x: { type: 'linear', min: -0.5, max: n - 0.5, offset: false, afterBuildTicks: classTicks, title: { display: true, text: 'predicted class' }, grid: { display: false } },
          y: { type: 'linear', min: -0.5, max: n - 0.5, reverse: true, offset: false, afterBuildTicks: classTicks, title: { display: true, text: 'true class' }, grid: { display: false } }
        }
      }
    }));
  });
  var withEnergy = records.filter(function (r) { return r.energy; });
  if (withEnergy.length) {
    var energyNames = [];
    var compute = [];
    var memory = [];
    withEnergy.forEach(function (r) {
      energyNames.push(r.model.split('/').pop() + ' (dense)');
      compute.push(r.energy.computeUJ);
      memory.push(r.energy.memoryUJ);
      if (r.energy.sparse && r.energy.sparse.totalUJ <= 0.99 * r.energy.totalUJ) {
        energyNames.push(r.model.split('/').pop() + ' (ideally sparse)');
        compute.push(r.energy.sparse.computeUJ);
        memory.push(r.energy.sparse.memoryUJ);
      }
    });
    charts.push(new Chart(document.getElementById('energy'), {
      type: 'bar',
      data: { labels: energyNames, datasets: [
        { label: 'compute', backgroundColor: palette[0], data: compute },
        { label: 'memory', backgroundColor: palette[1], data: memory }
      ] },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'µJ' } } } }
    }));
  }
  records.forEach(function (r, i) {
    var canvas = document.getElementById('energy-layers-' + i);
    if (!canvas || !r.energy) return;
    var top = r.energy.layers.slice().sort(function (a, b) { return (b.computeUJ + b.memoryUJ) - (a.computeUJ + a.memoryUJ); }).slice(0, ${LAYERS_SHOWN});
    charts.push(new Chart(canvas, {
      type: 'bar',
      data: { labels: top.map(function (l) { return l.node + ' (' + l.op + (l.type ? ' ' + l.type : '') + ')'; }), datasets: [
        { label: 'compute', backgroundColor: palette[0], data: top.map(function (l) { return l.computeUJ; }) },
        { label: 'memory', backgroundColor: palette[1], data: top.map(function (l) { return l.memoryUJ; }) }
      ] },
      options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true, title: { display: true, text: 'µJ' } }, y: { stacked: true, ticks: { autoSkip: false, font: { size: 9 } } } } }
    }));
  });
  window.modelpressCharts = charts;
})();
`;
