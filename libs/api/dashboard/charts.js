// The dashboard's bar charts, as inline SVG. Imported by app.js and
// declared.js.
import { compactFormat, moneyFormat, num } from './format.js';
import { svg } from './dom.js';

// ---- charts ----------------------------------------------------------------

// Revenue per window over a fixed run of windows ending at the current one;
// windows without a row are 0 (a view has no row for a quiet hour).
export function series(rows, lastStart, step, count) {
  const sums = new Map();
  for (const r of rows) {
    const t = Date.parse(r.window_start);
    sums.set(t, (sums.get(t) || 0) + (num(r.revenue) || 0));
  }
  const points = [];
  for (let i = count - 1; i >= 0; i--) {
    const t = lastStart - i * step;
    points.push({ t: new Date(t), value: sums.get(t) || 0 });
  }
  return points;
}

function niceStep(span, ticks) {
  const raw = span / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

// A bar chart as inline SVG, drawn at the box's width so text keeps its size.
export function barChart(box, opts) {
  const { points, title, label, tick } = opts;
  // How values are said in the description and the bars' titles.
  const format = opts.format || moneyFormat;
  const width = Math.max(280, Math.floor(box.clientWidth));
  const height = width < 500 ? 180 : 220;
  const m = { top: 10, right: 8, bottom: 26, left: 52 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;

  const values = points.map((p) => p.value);
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (hi === lo) hi = lo + 1;
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const y = (v) => m.top + h - ((v - lo) / (hi - lo)) * h;
  const slot = w / points.length;

  const total = values.reduce((a, b) => a + b, 0);
  let best = points[0];
  for (const p of points) if (p.value > best.value) best = p;
  const id = box.id;
  const desc =
    `${points.length} bars, from ${label(points[0].t)} to ${label(points.at(-1).t)}. ` +
    `Total ${format.format(total)}; highest ${format.format(best.value)} ` +
    `(${label(best.t)}).`;

  const grid = [];
  for (let v = lo; v <= hi + step / 2; v += step) {
    grid.push(
      svg('line', { x1: m.left, x2: m.left + w, y1: y(v), y2: y(v), class: 'grid' }),
      svg(
        'text',
        { x: m.left - 6, y: y(v), class: 'axis', 'text-anchor': 'end', 'dominant-baseline': 'middle' },
        compactFormat.format(v)
      )
    );
  }
  const bars = points.map((p, i) => {
    const top = y(Math.max(0, p.value));
    const bottom = y(Math.min(0, p.value));
    return svg(
      'rect',
      {
        x: m.left + i * slot + slot * 0.12,
        y: top,
        width: Math.max(1, slot * 0.76),
        height: Math.max(p.value === 0 ? 0 : 1, bottom - top),
        class: p.value < 0 ? 'bar negative' : 'bar',
        // For machines: the window's start and its value.
        'data-t': p.t.toISOString(),
        'data-value': String(p.value),
      },
      svg('title', {}, `${label(p.t)}: ${format.format(p.value)}`)
    );
  });
  const ticks = [];
  points.forEach((p, i) => {
    const text = tick(p.t, i, points.length, w);
    if (!text) return;
    const x = m.left + (i + 0.5) * slot;
    // Labels near an end are aligned to it instead of cut off.
    let anchor = 'middle';
    if (x + 24 > width) anchor = 'end';
    else if (x - 24 < m.left - 6) anchor = 'start';
    const tx = anchor === 'end' ? width - 2 : anchor === 'start' ? m.left - 6 : x;
    ticks.push(
      svg('line', { x1: x, x2: x, y1: m.top + h, y2: m.top + h + 4, class: 'tick' }),
      svg('text', { x: tx, y: height - 6, class: 'axis', 'text-anchor': anchor }, text)
    );
  });

  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-labelledby': `${id}-title ${id}-desc`,
      class: 'bars',
    },
    svg('title', { id: `${id}-title` }, title),
    svg('desc', { id: `${id}-desc` }, desc),
    ...grid,
    svg('line', { x1: m.left, x2: m.left + w, y1: y(0), y2: y(0), class: 'zero' }),
    ...bars,
    ...ticks
  );
  box.replaceChildren(chart);
}
