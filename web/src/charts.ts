/**
 * The inspect charts, drawn as inline SVG (no chart library in the page): stored
 * bytes and entropy of the largest tensors, and the value histogram of a chosen
 * float tensor.
 */
import type { InspectReport } from 'modelpress';
import type { Histogram } from './protocol.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 520;
const H = 260;
const PAD = { left: 48, right: 10, top: 26, bottom: 70 };

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= x)!;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

/** A grouped bar chart: one group per label, one bar per series. */
export function barChart(
  title: string,
  yLabel: string,
  labels: readonly string[],
  series: readonly Series[],
  xTitles = labels,
): SVGSVGElement {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
  svg.append(el('text', { x: W / 2, y: 16, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 600 }, title));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0))));
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: '#e3e6eb' }));
    svg.append(
      el('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', 'font-size': 10 }, String(Number(((top * i) / 4).toPrecision(3)))),
    );
  }
  svg.append(
    el(
      'text',
      { x: 12, y: PAD.top + plotH / 2, 'font-size': 10, transform: `rotate(-90 12 ${PAD.top + plotH / 2})`, 'text-anchor': 'middle' },
      yLabel,
    ),
  );
  const group = plotW / Math.max(1, labels.length);
  const bar = (group * 0.8) / Math.max(1, series.length);
  labels.forEach((label, i) => {
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      const h = (plotH * v) / top;
      const rect = el('rect', {
        x: PAD.left + i * group + group * 0.1 + k * bar,
        y: PAD.top + plotH - h,
        width: Math.max(1, bar - 1),
        height: h,
        fill: s.color,
      });
      rect.append(el('title', {}, `${xTitles[i]}: ${s.label} ${Number(v.toPrecision(4))}`));
      svg.append(rect);
    });
    if (labels.length <= 32) {
      const x = PAD.left + i * group + group / 2;
      const y = PAD.top + plotH + 8;
      svg.append(el('text', { x, y, 'font-size': 9, 'text-anchor': 'end', transform: `rotate(-60 ${x} ${y})` }, label));
    }
  });
  if (series.length > 1)
    series.forEach((s, k) => {
      const x = W - PAD.right - 120;
      const y = PAD.top + 4 + k * 14;
      svg.append(el('rect', { x, y, width: 10, height: 10, fill: s.color }));
      svg.append(el('text', { x: x + 14, y: y + 9, 'font-size': 10 }, s.label));
    });
  return svg;
}

function short(name: string): string {
  return name.length > 22 ? `...${name.slice(-19)}` : name;
}

const TOP = 24;

/** Bytes and entropy of the largest tensors, into #chart-bytes and #chart-entropy. */
export function renderCharts(r: InspectReport): void {
  const top = [...r.tensors].sort((a, b) => b.bytes - a.bytes).slice(0, TOP);
  const labels = top.map((t) => short(t.name));
  const names = top.map((t) => t.name);
  document
    .getElementById('chart-bytes')!
    .replaceChildren(
      barChart(
        `stored KiB of the ${top.length} largest tensors`,
        'KiB',
        labels,
        [{ label: 'KiB', color: '#2f6fde', values: top.map((t) => t.bytes / 1024) }],
        names,
      ),
    );
  document.getElementById('chart-entropy')!.replaceChildren(
    barChart(
      'entropy, bits per parameter (same tensors)',
      'bits / param',
      labels,
      [
        { label: 'raw bytes', color: '#8a94a6', values: top.map((t) => t.entropy.rawBits) },
        { label: '8-bit quantized', color: '#2a9d5c', values: top.map((t) => t.entropy.quant8Bits) },
      ],
      names,
    ),
  );
}

/** The histogram of one tensor into #chart-hist. */
export function renderHistogram(h: Histogram): void {
  const bins = h.counts.length;
  const w = (h.max - h.min) / bins;
  const labels = h.counts.map((_, i) => (i % 8 === 0 || i === bins - 1 ? Number((h.min + i * w).toPrecision(2)).toString() : ''));
  const titles = h.counts.map((_, i) => `[${(h.min + i * w).toPrecision(4)}, ${(h.min + (i + 1) * w).toPrecision(4)})`);
  document
    .getElementById('chart-hist')!
    .replaceChildren(
      barChart(
        `values of ${short(h.name)} (${bins} bins)`,
        'count',
        labels,
        [{ label: 'count', color: '#c2571a', values: h.counts }],
        titles,
      ),
    );
}
