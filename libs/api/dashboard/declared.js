// The dashboard's panels of the declared views (docs/views.md, "Declared
// views"): one per view GET /v1/views lists as declared, in a kind's
// declaration or its views file. A windowed view's panel charts one measure
// per window, for one group when the view has groups (selectors for both);
// a top N's lists the ranked rows of its newest window. Their rows come as
// every panel's do, in the stream's snapshot and views events (the API's
// dashboard list names each declared view with its recent windows). A view
// not filled yet says so on its panel, and its figures say they are
// partial (fill.js). Imported by kinds.js, which reads the list.
import { barChart } from './charts.js';
import { $, el, fillBody, headRow, numCell, scrollTable } from './dom.js';
import { fillLine, partialSuffix, renderFill } from './fill.js';
import { countFormat, decimalFormat, isKnown, num, pad2, shortDay, utcDay } from './format.js';
import { viewRows } from './state.js';

// The newest windows a chart shows.
const WINDOWS = 48;
const FIXED = new Set(['window_start', 'window_end', 'rank']);

// What the page needs of a declared view, from its entry in GET /v1/views.
function describe(v) {
  const dimensions = Array.isArray(v.dimensions) ? v.dimensions : [];
  const measures = v.columns.filter((c) => !FIXED.has(c.name) && !dimensions.includes(c.name));
  return {
    name: v.name,
    kind: v.kind,
    description: v.description,
    id: `view-${v.name.replaceAll('_', '-')}`,
    dimensions,
    measures,
    top: v.columns.some((c) => c.name === 'rank'),
    // The selectors' choices, kept across updates.
    measure: measures.length ? measures[0].name : null,
    group: null,
  };
}

export function declaredViews(list) {
  return list.filter((v) => v.declared === true && v.windowed).map(describe);
}

const formatOf = (type) => (type === 'integer' ? 'count' : 'decimal');
// A group's key (its values, in the view's order) and its label.
const groupKey = (p, r) => JSON.stringify(p.dimensions.map((d) => r[d]));
const groupLabel = (p, key) =>
  JSON.parse(key)
    .map((value, i) => `${p.dimensions[i]} ${value}`)
    .join(' · ');

function selector(id, label, onChange) {
  const select = el('select', { id });
  select.addEventListener('change', onChange);
  return el('label', { class: 'selector', for: id }, `${label} `, select);
}

export function declaredPanel(p) {
  const heading = `${p.id}-heading`;
  const body = [];
  if (p.top) {
    const names = [['Rank', true], ...p.dimensions.map((d) => [d]), ...p.measures.map((m) => [m.name, true])];
    body.push(el('p', { id: `${p.id}-window`, class: 'note' }, 'Newest window: —'));
    body.push(
      scrollTable(`${p.id}-top`, `${p.name}, the newest window`, headRow(...names), names.length)
    );
  } else {
    const controls = [
      selector(`${p.id}-measure`, 'Measure', (e) => {
        p.measure = e.target.value;
        renderDeclared(p);
      }),
    ];
    if (p.dimensions.length) {
      controls.push(
        selector(`${p.id}-group`, 'Group', (e) => {
          p.group = e.target.value;
          renderDeclared(p);
        })
      );
    }
    body.push(el('div', { class: 'selectors' }, ...controls));
    body.push(el('figure', { id: `${p.id}-chart`, class: 'chart-box' }, el('p', { class: 'empty' }, '—')));
  }
  const panel = el(
    'section',
    {
      class: 'panel declared-panel',
      'aria-labelledby': heading,
      'data-view': p.name,
      'data-kind': p.kind,
    },
    el('h2', { id: heading }, `${p.name} (kind ${p.kind})`),
    el('p', { class: 'note' }, `A declared view: ${p.description}.`),
    fillLine(p),
    ...body
  );
  if (!p.top) {
    const measure = panel.querySelector(`#${p.id}-measure`);
    measure.replaceChildren(...p.measures.map((m) => el('option', { value: m.name }, m.name)));
    measure.value = p.measure;
  }
  return panel;
}

// Windows of a day or more (a local day may last 23 hours) are labelled by
// their day.
const ofDays = (r) => Date.parse(r.window_end) - Date.parse(r.window_start) >= 23 * 3600 * 1000;

// "2026-11-29 13:15 UTC", or the day alone for windows of days.
function windowLabel(t, byDay) {
  const day = utcDay(t);
  return byDay ? day : `${day} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())} UTC`;
}

function renderChart(p, rows, fill) {
  const box = $(`${p.id}-chart`);
  if (!box) return;
  box.classList.toggle('partial', fill.partial);
  if (!rows) {
    box.replaceChildren(el('p', { class: 'empty' }, '—'));
    return;
  }
  if (p.dimensions.length) {
    const select = $(`${p.id}-group`);
    const keys = [...new Set(rows.map((r) => groupKey(p, r)))].sort();
    if (!keys.includes(p.group)) p.group = keys.length ? keys[0] : null;
    select.replaceChildren(...keys.map((k) => el('option', { value: k }, groupLabel(p, k))));
    if (p.group !== null) select.value = p.group;
  }
  if (!rows.length) {
    box.replaceChildren(el('p', { class: 'empty' }, 'None yet'));
    return;
  }
  // The newest windows of any group; the group's value in each (0 where it
  // has no row, as a quiet hour is on the other charts).
  const starts = [...new Set(rows.map((r) => Date.parse(r.window_start)))]
    .sort((a, b) => a - b)
    .slice(-WINDOWS);
  const values = new Map();
  for (const r of rows) {
    if (p.dimensions.length && groupKey(p, r) !== p.group) continue;
    values.set(Date.parse(r.window_start), num(r[p.measure]));
  }
  const measure = p.measures.find((m) => m.name === p.measure);
  // The chart's values are doubles (a sum of them too): counts as counts,
  // the rest to at most 6 decimals.
  const format = measure.type === 'integer' ? countFormat : decimalFormat;
  const byDay = ofDays(rows[0]);
  const points = starts.map((t) => ({ t: new Date(t), value: values.get(t) || 0 }));
  const every = Math.max(1, Math.ceil(points.length / 6));
  barChart(box, {
    points,
    format,
    title:
      `${p.measure} per window of ${p.name}` +
      (p.group !== null && p.dimensions.length ? `, ${groupLabel(p, p.group)}` : '') +
      partialSuffix(fill),
    label: (t) => windowLabel(t, byDay),
    tick: (t, i, n) =>
      (n - 1 - i) % every === 0
        ? byDay || (t.getUTCHours() === 0 && t.getUTCMinutes() === 0)
          ? shortDay(t)
          : `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`
        : '',
  });
}

function renderTop(p, rows, fill) {
  const table = $(`${p.id}-top`);
  if (!table) return;
  table.caption.textContent = `${p.name}, the newest window${partialSuffix(fill)}`;
  const columns = 1 + p.dimensions.length + p.measures.length;
  let newest = null;
  for (const r of rows || []) {
    if (newest === null || Date.parse(r.window_start) > Date.parse(newest)) newest = r.window_start;
  }
  const latest = newest === null ? [] : rows.filter((r) => r.window_start === newest);
  const note = $(`${p.id}-window`);
  if (newest === null) {
    note.textContent = 'Newest window: —';
    delete note.dataset.value;
  } else {
    // A local day's bounds are UTC instants: shown to the minute.
    const at = (t) => windowLabel(new Date(t), false);
    note.textContent = `Newest window: ${at(newest)} to ${at(latest[0].window_end)}${partialSuffix(fill)}`;
    note.dataset.value = newest;
  }
  const trs = latest.map((r) =>
    el(
      'tr',
      { 'data-rank': r.rank, 'data-group': groupKey(p, r) },
      numCell(r.rank, 'count'),
      ...p.dimensions.map((d) =>
        el('th', { scope: 'row', class: `dimension ${d}` }, isKnown(r[d]) ? String(r[d]) : '—')
      ),
      ...p.measures.map((m) => numCell(r[m.name], formatOf(m.type), { class: `num ${m.name}` }))
    )
  );
  fillBody(table, rows && trs, columns, 'None yet');
}

export function renderDeclared(p) {
  const rows = viewRows(p.name);
  const fill = renderFill(p);
  if (p.top) renderTop(p, rows, fill);
  else renderChart(p, rows, fill);
}
