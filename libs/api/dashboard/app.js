// Millrace's live dashboard: follows GET /v1/stream (Server-Sent Events) and
// renders the analytics views and the pipeline's health. Plain DOM and inline
// SVG, nothing loaded from anywhere else. docs/dashboard.md explains it.
// Its modules: stream.js (the connection, signing in), state.js (what the
// server sent), kinds.js (the declared kinds' panels, and through it
// declared.js, the declared views'), format.js (numbers,
// times), dom.js (elements, tables), charts.js (SVG bar charts).
import { barChart, series } from './charts.js';
import {
  $,
  el,
  fillBody,
  fillList,
  groupCell,
  headRow,
  numCell,
  productCell,
  scrollTable,
  show,
} from './dom.js';
import {
  isKnown,
  localTime,
  num,
  parseJson,
  shortDay,
  utcDay,
  utcHour,
} from './format.js';
import { loadKinds, renderKinds } from './kinds.js';
import { state, viewRows } from './state.js';
import { follow } from './stream.js';

const STALE_IDLE_S = 10;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

// ---- the views ------------------------------------------------------------

function renderToday() {
  const rows = viewRows('today_summary');
  const row = rows && rows.length ? rows[0] : {};
  const day = $('today-day');
  day.textContent = row.day ? `UTC day ${String(row.day).slice(0, 10)}` : 'UTC day —';
  day.dataset.value = row.day || '';
  show($('today-orders'), row.orders, 'count');
  show($('today-revenue'), row.revenue, 'money');
  show($('today-units'), row.units, 'count');
  show($('today-returns'), row.returns, 'count');
}

function renderHour() {
  const rows = viewRows('orders_this_hour');
  const row = rows && rows.length ? rows[0] : {};
  const start = row.window_start ? new Date(row.window_start) : null;
  const hour = $('hour-window');
  hour.textContent = start
    ? `UTC hour ${utcDay(start)} ${utcHour(start)}–${utcHour(new Date(+start + HOUR_MS))}`
    : 'UTC hour —';
  hour.dataset.value = row.window_start || '';
  show($('hour-orders'), row.orders, 'count');
  show($('hour-revenue'), row.revenue, 'money');
}

// The store's two tables, under their panels' headings.
function storeTables() {
  $('products-heading').after(
    scrollTable(
      'top-products',
      'Products with the most units sold, all time',
      headRow(['Rank', true], ['Product'], ['Units', true], ['Revenue', true]),
      4,
      'products-caption'
    )
  );
  $('categories-heading').after(
    scrollTable(
      'popular-categories',
      'Categories by units sold, all time',
      headRow(['Category'], ['Events', true], ['Units', true], ['Revenue', true]),
      4,
      'categories-caption'
    )
  );
}

function renderProducts() {
  const rows = viewRows('top_products');
  const trs = (rows || []).map((r) =>
    el(
      'tr',
      { 'data-sku': r.sku, 'data-rank': r.rank },
      numCell(r.rank, 'count'),
      productCell(r, `sku ${r.sku}`, `SKU ${r.sku}`),
      numCell(r.units, 'count', { class: 'num units' }),
      numCell(r.revenue, 'money', { class: 'num revenue' })
    )
  );
  fillBody($('top-products'), rows && trs, 4, 'No sales yet');
}

function renderCategories() {
  const rows = viewRows('popular_categories');
  const trs = (rows || []).map((r) =>
    el(
      'tr',
      { 'data-category': r.category },
      el('th', { scope: 'row' }, isKnown(r.display_name) ? r.display_name : r.category),
      numCell(r.events, 'count', { class: 'num events' }),
      numCell(r.units, 'count', { class: 'num units' }),
      numCell(r.revenue, 'money', { class: 'num revenue' })
    )
  );
  fillBody($('popular-categories'), rows && trs, 4, 'No sales yet');
}


// Revenue of a view per window (`step` long), the last `count` windows up
// to the server's clock; "—" while the view is unknown.
function revenueChart(boxId, view, step, count, opts) {
  const box = $(boxId);
  const rows = viewRows(view);
  if (!rows) {
    box.replaceChildren(el('p', { class: 'empty' }, '—'));
    return;
  }
  const now = state.serverNow || new Date();
  const last = Math.floor(+now / step) * step;
  barChart(box, Object.assign({ points: series(rows, last, step, count) }, opts));
}

function renderCharts() {
  revenueChart('hourly-chart', 'hourly_sales', HOUR_MS, 48, {
    title: 'Revenue per hour over the last 48 hours (UTC)',
    label: (t) => `${utcDay(t)} ${utcHour(t)} UTC`,
    // A label every 6 (narrow: 12) hours, the day's name at midnight.
    tick: (t, i, n, w) => {
      const every = w < 420 ? 12 : 6;
      if (t.getUTCHours() % every !== 0) return '';
      return t.getUTCHours() === 0 ? shortDay(t) : utcHour(t);
    },
  });
  revenueChart('daily-chart', 'daily_sales', DAY_MS, 30, {
    title: 'Revenue per day over the last 30 days (UTC)',
    label: (t) => utcDay(t),
    // Every 5th (narrow: 10th) day, counted back from today.
    tick: (t, i, n, w) => ((n - 1 - i) % (w < 420 ? 10 : 5) === 0 ? shortDay(t) : ''),
  });
}

// ---- health ----------------------------------------------------------------

function renderHealth() {
  const health = state.health;
  if (!health) return;
  const at = health.at ? new Date(health.at) : null;
  const atNode = $('health-at');
  atNode.textContent = at ? localTime(at) : '—';
  if (at) atNode.setAttribute('datetime', health.at);

  const feed = health.feed;
  const feedNode = $('feed-state');
  if (!feed) {
    feedNode.textContent = '—';
    feedNode.className = '';
  } else if (feed.connected) {
    feedNode.textContent = 'connected';
    feedNode.className = 'good';
  } else {
    feedNode.textContent = `not connected${feed.error ? ` (${feed.error})` : ''}`;
    feedNode.className = 'bad';
  }

  fillList('partitions', health.partitions, 7, 'No partitions committed yet', (p) => {
    const lag = num(p.lag);
    const idle = num(p.idle_s);
    const stale = lag !== null && lag > 0 && idle !== null && idle > STALE_IDLE_S;
    let stateText = '—';
    if (stale) stateText = '⚠ Stale';
    else if (lag === 0) stateText = 'Caught up';
    else if (lag !== null) stateText = 'Catching up';
    const lastCommit = el('td', { class: 'num' });
    show(lastCommit, p.idle_s, 'seconds');
    if (isKnown(p.idle_s)) lastCommit.textContent += ' ago';
    return el(
      'tr',
      {
        'data-group': p.group,
        'data-topic': p.topic,
        'data-partition': p.partition,
        class: stale ? 'stale' : null,
      },
      groupCell(p.group, p.topic),
      numCell(p.partition, 'text'),
      numCell(p.lag, 'count', { class: 'num lag' }),
      el('td', { class: stale ? 'state bad' : 'state' }, stateText),
      lastCommit,
      numCell(p.next_offset, 'count'),
      numCell(p.end_offset, 'count')
    );
  });

  fillList('accounting', health.groups, 9, 'No consumer group has committed yet', (g) => {
    const unaccounted = numCell(g.unaccounted, 'count', { class: 'num unaccounted' });
    const off = isKnown(g.unaccounted) && num(g.unaccounted) !== 0;
    if (off) {
      unaccounted.classList.add('bad');
      unaccounted.textContent = `⚠ ${unaccounted.textContent} not accounted for`;
    }
    return el(
      'tr',
      { 'data-group': g.group, 'data-topic': g.topic, class: off ? 'off' : null },
      groupCell(g.group, g.topic),
      unaccounted,
      numCell(g.consumed, 'count', { class: 'num consumed' }),
      numCell(g.persisted, 'count'),
      numCell(g.filtered, 'count'),
      numCell(g.rejected, 'count'),
      numCell(g.duplicate, 'count'),
      numCell(g.late, 'count'),
      numCell(g.lost, 'count')
    );
  });

  fillList('dead-letters', health.dead_letters, 2, 'No dead-letter topics', (d) =>
    el('tr', { 'data-topic': d.topic }, el('td', { class: 'nowrap' }, d.topic), numCell(d.records, 'count'))
  );

  const hooks = health.webhooks || {};
  show($('webhooks-pending'), hooks.pending, 'count');
  show($('webhooks-failed'), hooks.failed, 'count');
  show($('webhooks-oldest'), hooks.oldest_pending_s, 'seconds');
  if (isKnown(hooks.pending) && num(hooks.pending) === 0) $('webhooks-oldest').textContent = 'none pending';
}

// ---- applying events --------------------------------------------------------

function noteServerTime(at) {
  const d = at ? new Date(at) : null;
  if (d && !Number.isNaN(+d) && (!state.serverNow || d > state.serverNow)) state.serverNow = d;
}

function renderViews() {
  renderToday();
  renderHour();
  renderProducts();
  renderCategories();
  renderCharts();
  renderKinds();
}

function applyViews(event, snapshot) {
  const message = parseJson(event.data);
  if (snapshot) state.views = {};
  Object.assign(state.views, message.views || {});
  noteServerTime(message.at);
  if (snapshot && message.health) state.health = message.health;
  renderViews();
  if (snapshot) renderHealth();
  if (snapshot) loadKinds(Object.keys(message.views || {}));
  const updated = $('updated');
  const at = message.at ? new Date(message.at) : new Date();
  updated.textContent = localTime(at);
  updated.setAttribute('datetime', at.toISOString());
  if (event.lastEventId) document.body.dataset.updated = event.lastEventId;
}

function applyHealth(event) {
  const health = parseJson(event.data);
  const hourBefore = state.serverNow && Math.floor(+state.serverNow / HOUR_MS);
  state.health = health;
  noteServerTime(health.at);
  renderHealth();
  // The charts' windows move with the clock even when no row changes.
  if (state.serverNow && Math.floor(+state.serverNow / HOUR_MS) !== hourBefore) renderCharts();
}

let resizeFrame = 0;
function start() {
  storeTables();
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(resizeFrame);
    // The declared views' charts too (kinds.js draws them): their boxes
    // change width with these.
    resizeFrame = requestAnimationFrame(() => {
      renderCharts();
      renderKinds();
    });
  });
  observer.observe($('hourly-chart'));
  observer.observe($('daily-chart'));
  follow({
    snapshot: (e) => applyViews(e, true),
    views: (e) => applyViews(e, false),
    health: applyHealth,
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
