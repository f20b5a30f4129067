// Millrace's live dashboard: follows GET /v1/stream (Server-Sent Events) and
// renders the analytics views and the pipeline's health. Plain DOM and inline
// SVG, nothing loaded from anywhere else. docs/dashboard.md explains it.
'use strict';

(() => {
  const STREAM_URL = '/v1/stream';
  const SESSION_URL = '/v1/session';
  // Answered without the database: whether this browser may read.
  const ACCESS_URL = '/v1/views';
  const MAX_RETRY_MS = 5000;
  // health comes every 2 s: a stream silent for this long is dead even if the
  // socket says otherwise, and is opened again.
  const SILENCE_MS = 20000;
  const STALE_IDLE_S = 10;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const HOUR_MS = 3600 * 1000;
  const DAY_MS = 24 * HOUR_MS;

  const state = {
    views: {}, // view name -> {rows: [...]} as the server sent it
    health: null,
    serverNow: null, // Date of the latest `at` the server sent
  };

  // ---- numbers ------------------------------------------------------------

  // Numbers are kept as the server's digits (strings): revenue is a
  // PostgreSQL numeric, and rounding its decimal digits to cents must give
  // what SQL's round() gives, which a double does not always do (1.005).
  function parseJson(text) {
    return JSON.parse(text, (key, value, context) => {
      if (typeof value !== 'number') return value;
      return context && typeof context.source === 'string' ? context.source : String(value);
    });
  }

  const isKnown = (v) => v !== null && v !== undefined && v !== '';
  const num = (v) => (isKnown(v) ? Number(v) : null);
  // Intl formats a numeric string as an exact decimal, rounding half away
  // from zero as PostgreSQL does.
  const moneyFormat = new Intl.NumberFormat('en-US', {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const compactFormat = new Intl.NumberFormat('en-US', {
    notation: 'compact',
    maximumFractionDigits: 1,
  });
  const formatters = {
    money: (v) => moneyFormat.format(v),
    count: (v) => countFormat.format(v),
    seconds: (v) => formatSeconds(Number(v)),
    text: (v) => String(v),
  };

  function formatSeconds(s) {
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  }

  const pad2 = (n) => String(n).padStart(2, '0');
  const utcHour = (d) => `${pad2(d.getUTCHours())}:00`;
  const utcDay = (d) => d.toISOString().slice(0, 10);
  const shortDay = (d) =>
    d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const localTime = (d) => d.toLocaleTimeString('en-GB', { hour12: false });

  // ---- DOM helpers ----------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children);
    return node;
  }

  // Shows a value (or "—" when unknown) and keeps the server's digits in
  // data-value for machines.
  function show(node, value, kind) {
    if (isKnown(value)) {
      node.textContent = formatters[kind](value);
      node.dataset.value = value;
    } else {
      node.textContent = '—';
      delete node.dataset.value;
    }
    return node;
  }

  // A table cell with a number in it.
  const numCell = (value, kind, attrs) =>
    show(el('td', Object.assign({ class: 'num' }, attrs)), value, kind);

  function fillBody(table, rows, columns, emptyText) {
    const body = table.tBodies[0];
    if (rows === null) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: columns }, '—')));
    } else if (rows.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: columns }, emptyText)));
    } else {
      body.replaceChildren(...rows);
    }
  }

  // A table of one of the health's lists: a row each, "—" when unknown.
  const fillList = (id, list, columns, emptyText, row) =>
    fillBody($(id), Array.isArray(list) ? list.map(row) : null, columns, emptyText);

  // A row header naming a consumer group, with its topic beneath.
  const groupCell = (group, topic) =>
    el(
      'th',
      { scope: 'row', class: 'group' },
      el('span', { class: 'name' }, group),
      el('span', { class: 'detail' }, topic)
    );

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

  function renderProducts() {
    const rows = viewRows('top_products');
    const trs = (rows || []).map((r) => {
      const named = isKnown(r.name);
      const product = el(
        'th',
        { scope: 'row' },
        el('span', { class: named ? 'name' : 'name unknown' }, named ? r.name : `sku ${r.sku}`),
        el('span', { class: 'detail' }, `${isKnown(r.brand) ? `${r.brand} · ` : ''}SKU ${r.sku}`)
      );
      return el(
        'tr',
        { 'data-sku': r.sku, 'data-rank': r.rank },
        numCell(r.rank, 'count'),
        product,
        numCell(r.units, 'count', { class: 'num units' }),
        numCell(r.revenue, 'money', { class: 'num revenue' })
      );
    });
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

  // ---- charts ----------------------------------------------------------------

  // Revenue per window over a fixed run of windows ending at the current one;
  // windows without a row are 0 (a view has no row for a quiet hour).
  function series(rows, lastStart, step, count) {
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
  function barChart(box, opts) {
    const { points, title, label, tick } = opts;
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
      `Total ${moneyFormat.format(total)}; highest ${moneyFormat.format(best.value)} ` +
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
          // For machines: the window's start and its revenue.
          'data-t': p.t.toISOString(),
          'data-value': String(p.value),
        },
        svg('title', {}, `${label(p.t)}: ${moneyFormat.format(p.value)}`)
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
  }

  function applyViews(event, snapshot) {
    const message = parseJson(event.data);
    if (snapshot) state.views = {};
    Object.assign(state.views, message.views || {});
    noteServerTime(message.at);
    if (snapshot && message.health) state.health = message.health;
    renderViews();
    if (snapshot) renderHealth();
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
})();
