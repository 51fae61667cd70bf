// Hand-written SVG charts, so the report needs no browser and no charting package.
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#9c755f'];
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function svg(width, height, body) {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`
  );
}

function text(x, y, content, attrs = '') {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(content)}</text>`;
}

/**
 * Horizontal bars, grouped (e.g. one group per database), each with a min–max whisker.
 * @param {{ title: string, unit: string, groups: { label: string, bars: { label: string, value: number, min?: number, max?: number }[] }[] }} chart
 */
export function barChart({ title, unit, groups }) {
  const labelWidth = 230;
  const plotWidth = 420;
  const barHeight = 18;
  const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0);
  const height = 50 + rows * (barHeight + 4) + 30;
  const maxValue = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max ?? 0)).filter(Number.isFinite)));
  const scale = (v) => (Number.isFinite(v) ? (v / maxValue) * plotWidth : 0);
  const parts = [text(10, 22, title, 'font-size="14" font-weight="bold"')];
  let y = 40;
  const barLabels = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.label)))];
  for (const group of groups) {
    parts.push(text(10, y + 13, group.label, 'font-weight="bold"'));
    y += barHeight + 4;
    for (const bar of group.bars) {
      const color = COLORS[barLabels.indexOf(bar.label) % COLORS.length];
      const w = scale(bar.value);
      parts.push(text(20, y + 13, bar.label));
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}"/>`);
      if (Number.isFinite(bar.min) && Number.isFinite(bar.max)) {
        const x1 = labelWidth + scale(bar.min);
        const x2 = labelWidth + scale(bar.max);
        const mid = y + barHeight / 2;
        parts.push(
          `<path d="M${x1.toFixed(1)} ${mid} H${x2.toFixed(1)} M${x1.toFixed(1)} ${mid - 5} V${mid + 5} M${x2.toFixed(1)} ${mid - 5} V${mid + 5}" stroke="#333" fill="none"/>`,
        );
      }
      parts.push(text(labelWidth + Math.max(w, scale(bar.max ?? 0)) + 6, y + 13, `${Number.isFinite(bar.value) ? fmt(bar.value) : 'n/a'} ${unit}`));
      y += barHeight + 4;
    }
  }
  parts.push(text(labelWidth, y + 16, `bars: median of runs; whiskers: min–max`, 'fill="#555"'));
  return svg(labelWidth + plotWidth + 120, height, parts.join('\n'));
}

// Percentiles are placed by their "nines" (50 -> 0.3, 90 -> 1, 99 -> 2, 99.9 -> 3), so the tail is readable.
const nines = (p) => -Math.log10(1 - Math.min(p, 99.999) / 100);

/**
 * Latency percentile curves (x: percentile, by nines; y: milliseconds, log scale).
 * @param {{ title: string, series: { label: string, points: [number, number][] }[] }} chart
 */
export function percentileChart({ title, series }) {
  const left = 60,
    top = 40,
    width = 520,
    height = 260;
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.log10(Math.max(0.01, Math.min(...values, 1)));
  const hi = Math.log10(Math.max(...values, 1)) + 0.1;
  const xMax = nines(99.99);
  const x = (p) => left + (Math.min(nines(p), xMax) / xMax) * width;
  const y = (v) => top + height - ((Math.log10(Math.max(v, 0.01)) - lo) / Math.max(hi - lo, 1e-9)) * height;
  const parts = [text(10, 22, title, 'font-size="14" font-weight="bold"')];
  parts.push(`<path d="M${left} ${top} V${top + height} H${left + width}" stroke="#333" fill="none"/>`);
  for (const p of [0, 50, 90, 99, 99.9, 99.99]) {
    parts.push(`<path d="M${x(p).toFixed(1)} ${top} V${top + height}" stroke="#ddd"/>`);
    parts.push(text(x(p) - 10, top + height + 16, `p${p}`));
  }
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const v = 10 ** e;
    parts.push(`<path d="M${left} ${y(v).toFixed(1)} H${left + width}" stroke="#eee"/>`);
    parts.push(text(8, y(v) + 4, `${v >= 1 ? v : v.toFixed(2)} ms`));
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.points.filter(([p, v]) => p <= 99.99 && Number.isFinite(v));
    const d = points.map(([p, v], j) => `${j === 0 ? 'M' : 'L'}${x(p).toFixed(1)} ${y(v).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" stroke="${color}" stroke-width="2" fill="none"/>`);
    parts.push(`<rect x="${left + width + 15}" y="${top + i * 18}" width="12" height="12" fill="${color}"/>`);
    parts.push(text(left + width + 32, top + i * 18 + 11, s.label));
  });
  parts.push(text(left, top + height + 34, 'x: percentile (log of nines); y: commit -> consumer latency, log scale', 'fill="#555"'));
  return svg(left + width + 230, top + height + 45, parts.join('\n'));
}
