// Millrace's live dashboard: follows GET /v1/stream (Server-Sent Events) and
// renders the analytics views and the pipeline's health. Plain DOM and inline
// SVG, nothing loaded from anywhere else. docs/dashboard.md explains it.
// Its modules: format.js (numbers, times), dom.js (elements, tables),
// charts.js (SVG bar charts).
import { barChart, series } from './charts.js';
import { $, el, fillBody, fillList, groupCell, numCell, show } from './dom.js';
import {
  isKnown,
  localTime,
  num,
  parseJson,
  shortDay,
  utcDay,
  utcHour,
} from './format.js';

const STREAM_URL = '/v1/stream';
const SESSION_URL = '/v1/session';
// Answered without the database: whether this browser may read, and the
// views served (the declared kinds' panels).
const ACCESS_URL = '/v1/views';
const MAX_RETRY_MS = 5000;
// health comes every 2 s: a stream silent for this long is dead even if the
// socket says otherwise, and is opened again.
const SILENCE_MS = 20000;
const STALE_IDLE_S = 10;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

const state = {
  views: {}, // view name -> {rows: [...]} as the server sent it
  health: null,
  serverNow: null, // Date of the latest `at` the server sent
};


const viewRows = (name) => {
  const view = state.views[name];
  return view && Array.isArray(view.rows) ? view.rows : null;
};

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

// A product's row header: its catalog name (`unnamed` when the catalog has
// none) and, beneath, its brand and `id`.
function productCell(r, unnamed, id) {
  const named = isKnown(r.name);
  return el(
    'th',
    { scope: 'row' },
    el('span', { class: named ? 'name' : 'name unknown' }, named ? r.name : unnamed),
    el('span', { class: 'detail' }, `${isKnown(r.brand) ? `${r.brand} · ` : ''}${id}`)
  );
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

// ---- the declared kinds ----------------------------------------------------
// A panel per kind with an aggregate section (the orders, and each kind in
// the API's MILLRACE_KINDS_DIR), built from GET /v1/views: this hour's and
// today's records and amount (the columns its declaration names), and its
// top products and categories when its lines name a product. Ids are
// <aggregate>-today-<records_as> and so on, with - for _.

const title = (text) => text.charAt(0).toUpperCase() + text.slice(1).replaceAll('_', ' ');

// The kinds' panels, once GET /v1/views answered (null before).
let kindPanels = null;

function kindsOf(views) {
  const byKind = new Map();
  for (const v of views) {
    if (v.kind === 'store_event') continue;
    if (!byKind.has(v.kind)) byKind.set(v.kind, []);
    byKind.get(v.kind).push(v);
  }
  const kinds = [];
  for (const [kind, list] of byKind) {
    const today = list.find((v) => v.name.endsWith('_today'));
    if (!today || today.columns.length < 3) continue;
    const prefix = today.name.slice(0, -'_today'.length);
    const has = (suffix) => list.some((v) => v.name === prefix + suffix);
    kinds.push({
      kind,
      prefix,
      id: prefix.replaceAll('_', '-'),
      records: today.columns[1].name,
      amount: today.columns[2].name,
      top: has('_top_products'),
      categories: has('_categories'),
    });
  }
  return kinds;
}

function headRow(...names) {
  return el(
    'thead',
    {},
    el(
      'tr',
      {},
      ...names.map(([text, numeric]) => el('th', { scope: 'col', class: numeric ? 'num' : null }, text))
    )
  );
}

// A scrolling table with its caption, head and an empty body (columns
// wide), as the kinds' panels and the store's products and categories have.
function scrollTable(id, caption, head, columns, captionId = `${id}-caption`) {
  return el(
    'div',
    { class: 'table-scroll', role: 'region', 'aria-labelledby': captionId, tabindex: '0' },
    el(
      'table',
      { id },
      el('caption', { id: captionId }, caption),
      head,
      el('tbody', {}, el('tr', {}, el('td', { colspan: columns }, '—')))
    )
  );
}

function kindPanel(k) {
  const figure = (label, id) => el('div', {}, el('dt', {}, label), el('dd', { id }, '—'));
  const tables = [];
  if (k.top) {
    tables.push(
      scrollTable(
        `${k.id}-top-products`,
        'Top 10 products, by units, all time',
        headRow(['Rank', true], ['Product'], ['Units', true], [title(k.records), true], [title(k.amount), true]),
        5
      )
    );
  }
  if (k.categories) {
    tables.push(
      scrollTable(
        `${k.id}-categories`,
        'Categories, by units, all time',
        headRow(['Category'], ['Units', true], [title(k.amount), true]),
        3
      )
    );
  }
  return el(
    'section',
    { class: 'panel kind-panel', 'aria-labelledby': `${k.id}-heading`, 'data-kind': k.kind },
    el('h2', { id: `${k.id}-heading` }, `${title(k.prefix)} (kind ${k.kind})`),
    el(
      'p',
      { class: 'note' },
      'From the ',
      el('code', {}, `${k.prefix}_*`),
      ` views of the kind's declaration, by the time of each record.`
    ),
    el(
      'dl',
      { class: 'figures' },
      figure(`${title(k.records)} today`, `${k.id}-today-${k.records}`),
      figure(`${title(k.amount)} today`, `${k.id}-today-${k.amount}`),
      figure(`${title(k.records)} this hour`, `${k.id}-hour-${k.records}`),
      figure(`${title(k.amount)} this hour`, `${k.id}-hour-${k.amount}`)
    ),
    tables.length ? el('div', { class: 'kind-tables' }, ...tables) : ''
  );
}

// Reads the list of views once, and builds the panels.
function loadKinds() {
  if (kindPanels) return;
  fetch(ACCESS_URL, { cache: 'no-store', credentials: 'same-origin' })
    .then((response) => (response.ok ? response.json() : null))
    .then((list) => {
      if (!list || kindPanels) return;
      kindPanels = kindsOf(Array.isArray(list.views) ? list.views : []);
      $('kind-panels').replaceChildren(...kindPanels.map(kindPanel));
      renderKinds();
    })
    .catch(() => {});
}

function renderKinds() {
  for (const k of kindPanels || []) renderKind(k);
}

function renderKind(k) {
  const first = (name) => {
    const rows = viewRows(name);
    return rows && rows.length ? rows[0] : {};
  };
  const today = first(`${k.prefix}_today`);
  const hour = first(`${k.prefix}_this_hour`);
  show($(`${k.id}-today-${k.records}`), today[k.records], 'count');
  show($(`${k.id}-today-${k.amount}`), today[k.amount], 'money');
  show($(`${k.id}-hour-${k.records}`), hour[k.records], 'count');
  show($(`${k.id}-hour-${k.amount}`), hour[k.amount], 'money');

  if (k.top) {
    const products = viewRows(`${k.prefix}_top_products`);
    const productRows = (products || []).map((r) =>
      el(
        'tr',
        { 'data-product': r.product_id, 'data-rank': r.rank },
        numCell(r.rank, 'count'),
        productCell(r, `product ${r.product_id}`, `ID ${r.product_id}`),
        numCell(r.units, 'count', { class: 'num units' }),
        numCell(r[k.records], 'count', { class: `num ${k.records}` }),
        numCell(r[k.amount], 'money', { class: `num ${k.amount}` })
      )
    );
    fillBody($(`${k.id}-top-products`), products && productRows, 5, 'None yet');
  }
  if (k.categories) {
    const categories = viewRows(`${k.prefix}_categories`);
    const categoryRows = (categories || []).map((r) =>
      el(
        'tr',
        { 'data-category': r.category },
        el('th', { scope: 'row' }, isKnown(r.display_name) ? r.display_name : r.category),
        numCell(r.units, 'count', { class: 'num units' }),
        numCell(r[k.amount], 'money', { class: `num ${k.amount}` })
      )
    );
    fillBody($(`${k.id}-categories`), categories && categoryRows, 3, 'None yet');
  }
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
  if (snapshot) loadKinds();
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

// ---- the connection ----------------------------------------------------------

const STATUS_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  // The page never gives up (so never says "Disconnected"): it retries
  // with backoff up to MAX_RETRY_MS for as long as it is open.
  reconnecting: 'Reconnecting…',
  // The API's reads need its read token (MILLRACE_API_READ_TOKEN).
  signin: 'Sign in to see the figures',
};
let source = null;
let attempt = 0;
let retryTimer = null;
let silenceTimer = null;

function setStatus(name) {
  const node = $('status');
  if (node.dataset.state === name) return;
  node.dataset.state = name;
  node.textContent = STATUS_TEXT[name];
}

function connect() {
  retryTimer = null;
  const es = new EventSource(STREAM_URL);
  source = es;
  // Events of a source given up on are ignored.
  const handle = (fn) => (event) => {
    if (es !== source) return;
    try {
      fn(event);
    } finally {
      attempt = 0;
      setStatus('live');
      watchSilence();
    }
  };
  es.addEventListener('snapshot', handle((e) => applyViews(e, true)));
  es.addEventListener('views', handle((e) => applyViews(e, false)));
  es.addEventListener('health', handle(applyHealth));
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState === EventSource.CLOSED) {
      // A non-200 or non-event-stream answer: the browser gives up on this
      // source, the page does not. EventSource does not say which status
      // it was: a 401 means signing in first.
      source.close();
      source = null;
      clearTimeout(silenceTimer);
      mayRead().then((may) => (may ? reopen() : askToSignIn()));
    } else {
      // A dropped connection: the browser reconnects by itself, sending
      // Last-Event-ID.
      setStatus('reconnecting');
      watchSilence();
    }
  });
  watchSilence();
}

function reopen() {
  if (source) source.close();
  source = null;
  clearTimeout(silenceTimer);
  setStatus('reconnecting');
  const delay = Math.min(MAX_RETRY_MS, 500 * 2 ** attempt);
  attempt += 1;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

// False only on a 401: any other failure is the connection's, and the
// page retries.
function mayRead() {
  return fetch(ACCESS_URL, { cache: 'no-store', credentials: 'same-origin' })
    .then((response) => response.status !== 401)
    .catch(() => true);
}

function askToSignIn() {
  setStatus('signin');
  const form = $('signin');
  form.hidden = false;
  $('signin-token').focus();
}

function signIn(event) {
  event.preventDefault();
  const form = $('signin');
  const input = $('signin-token');
  const error = $('signin-error');
  error.textContent = '';
  fetch(SESSION_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: input.value }),
    credentials: 'same-origin',
  })
    .then((response) => {
      if (response.ok) {
        input.value = '';
        form.hidden = true;
        attempt = 0;
        setStatus('connecting');
        connect();
      } else if (response.status === 401) {
        error.textContent = 'That token was not accepted.';
        input.select();
      } else {
        error.textContent = `Sign-in failed (HTTP ${response.status}).`;
      }
    })
    .catch(() => {
      error.textContent = 'The server could not be reached.';
    });
}

function watchSilence() {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(reopen, SILENCE_MS);
}

let resizeFrame = 0;
function start() {
  storeTables();
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(renderCharts);
  });
  observer.observe($('hourly-chart'));
  observer.observe($('daily-chart'));
  $('signin').addEventListener('submit', signIn);
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
