/** The inspect charts (chart.js, loaded with this chunk after the tables show): bytes and entropy of the largest tensors. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Title, Tooltip } from 'chart.js';
import type { InspectReport } from 'modelpress';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Title, Tooltip, Legend);

const charts: Chart[] = [];
const TOP = 24;

function short(name: string): string {
  return name.length > 22 ? `...${name.slice(-19)}` : name;
}

export function renderCharts(r: InspectReport): void {
  for (const c of charts.splice(0)) c.destroy();
  const top = [...r.tensors].sort((a, b) => b.bytes - a.bytes).slice(0, TOP);
  const labels = top.map((t) => short(t.name));
  const opts = (title: string, y: string) => ({
    animation: false as const,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { title: { display: true, text: title }, legend: { display: false } },
    scales: { y: { title: { display: true, text: y } }, x: { ticks: { autoSkip: false, maxRotation: 70, font: { size: 9 } } } },
  });
  charts.push(
    new Chart(document.getElementById('chart-bytes') as HTMLCanvasElement, {
      type: 'bar',
      data: { labels, datasets: [{ data: top.map((t) => t.bytes / 1024), backgroundColor: '#2f6fde' }] },
      options: opts(`stored KiB of the ${top.length} largest tensors`, 'KiB'),
    }),
    new Chart(document.getElementById('chart-entropy') as HTMLCanvasElement, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'raw bytes', data: top.map((t) => t.entropy.rawBits), backgroundColor: '#8a94a6' },
          { label: '8-bit quantized', data: top.map((t) => t.entropy.quant8Bits), backgroundColor: '#2a9d5c' },
        ],
      },
      options: {
        ...opts('entropy, bits per parameter (same tensors)', 'bits / param'),
        plugins: { title: { display: true, text: 'entropy, bits per parameter (same tensors)' }, legend: { display: true } },
      },
    }),
  );
}
