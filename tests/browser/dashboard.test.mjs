// The live dashboard in headless chromium (run by dashboard_test.sh, which
// starts the pipeline and sets the environment read below):
//   1. the page goes Live; events produced with the CLI reach it without a
//      reload, until its figures equal SQL's (deadline 120 s); the delay from
//      the aggregator's commit of the last event to the page showing it is
//      printed and appended to test-logs/dashboard-delay.tsv;
//      orders produced with the CLI reach the orders section, which then
//      equals the web_orders_* views, and the declared views' panels (of
//      order.json and the views file order.views.json), which then equal
//      what GET /v1/views/<name> serves; two views added to that views
//      file (a chart's and a top N's) are shown waiting to be filled, then
//      filling (their fills held by locks, their figures marked partial),
//      then filled;
//   2. millrace-api is stopped: the page says it is reconnecting, and keeps
//      asking while a stand-in answers 503 (EventSource gives up on those);
//      started again on the same port, the page goes Live by itself and
//      catches up;
//   3. no console error or warning (but the browser's own lines for the
//      stream's failed requests while the API is down), accessibility basics,
//      no horizontal scroll at phone width, and screenshots at 1280×800 and
//      390×844.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`dashboard.test: ${name} is not set (run it through dashboard_test.sh)`);
  return v;
};
const URL_ = env('DASHBOARD_URL');
const SCHEMA = env('MILLRACE_PG_SCHEMA');
const PG = env('MILLRACE_PG');
const AGG_GROUP = env('MILLRACE_AGGREGATOR_GROUP');
const SINK_GROUP = env('MILLRACE_SINK_GROUP');
const DLQ = env('MILLRACE_DLQ_TOPIC');
const LOGS = env('DASHBOARD_LOG_DIR');
const DEADLINE_MS = 120_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);

class Failure extends Error {}
function check(ok, message) {
  if (!ok) throw new Failure(message);
}

// ---- SQL ------------------------------------------------------------------------

function sql(query) {
  const r = spawnSync('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', PG, '-c', query], {
    encoding: 'utf8',
    env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` },
  });
  if (r.status !== 0) throw new Error(`psql failed (${query}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('|'));
}

const consumed = (group) =>
  Number(sql(`SELECT coalesce(sum(consumed), 0) FROM partition_accounting WHERE group_id = '${group}'`)[0][0]);

// Waits until the aggregator has committed `total` records and returns when
// the last transaction that changed the aggregates committed, in ms since the
// epoch (the stack's PostgreSQL has track_commit_timestamp on).
async function aggregatorCommitted(total) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (consumed(AGG_GROUP) >= total) break;
    check(Date.now() < deadline, `the aggregator did not commit ${total} records in time`);
    await sleep(100);
  }
  const last = (table) => `(SELECT max(pg_xact_commit_timestamp(xmin)) FROM ${table})`;
  const [[at]] = sql(
    `SELECT extract(epoch FROM greatest(${last('agg_hourly')}, ${last('agg_daily')}, ` +
      `${last('agg_products')}, ${last('agg_categories')})) * 1000`
  );
  check(at !== undefined && at !== '', 'no commit timestamp for the aggregates');
  return Number(at);
}

// What the page must show, from the views. A window that moved on between
// SQL and the page (an hour or a day that just ended) is computed for the
// page's window the way the view does.
function expected(pageDay, pageHour) {
  let [[day, orders, revenue, cents, units, returns]] = sql(
    'SELECT extract(epoch FROM day), orders, revenue, round(revenue, 2), units, returns FROM today_summary'
  );
  if (pageDay && Number(day) * 1000 !== Date.parse(pageDay)) {
    [[orders, revenue, cents, units, returns]] = sql(
      `SELECT coalesce(sum(events - returns), 0), coalesce(sum(revenue), 0), ` +
        `round(coalesce(sum(revenue), 0), 2), coalesce(sum(units), 0), coalesce(sum(returns), 0) ` +
        `FROM agg_daily WHERE event_type = 'sale_event' AND window_start = '${pageDay}'`
    );
  }
  let [[hour, hourOrders, hourRevenue, hourCents]] = sql(
    'SELECT extract(epoch FROM window_start), orders, revenue, round(revenue, 2) FROM orders_this_hour'
  );
  if (pageHour && Number(hour) * 1000 !== Date.parse(pageHour)) {
    [[hourOrders, hourRevenue, hourCents]] = sql(
      `SELECT coalesce(sum(events - returns), 0), coalesce(sum(revenue), 0), ` +
        `round(coalesce(sum(revenue), 0), 2) FROM agg_hourly ` +
        `WHERE event_type = 'sale_event' AND window_start = '${pageHour}'`
    );
  }
  const top = sql('SELECT sku, units, round(revenue, 2) FROM top_products ORDER BY rank');
  const categories = sql(
    'SELECT category, coalesce(display_name, category), units, round(revenue, 2) ' +
      'FROM popular_categories ORDER BY units DESC, category'
  );
  // Revenue per window, as the charts sum it over the event types.
  const perWindow = (view) =>
    new Map(
      sql(
        `SELECT extract(epoch FROM window_start) * 1000, round(sum(revenue), 2) FROM ${view} ` +
          'GROUP BY window_start'
      ).map(([t, cents]) => [Number(t), Number(cents)])
    );
  return {
    today: { orders, revenue, cents, units, returns },
    hour: { orders: hourOrders, revenue: hourRevenue, cents: hourCents },
    top: top.map(([sku, u, c]) => `${sku}:${u}:${c}`).join(' '),
    categories: categories.map(([c, name, u, cents]) => `${c}|${name}|${u}|${cents}`).join(' '),
    hourly: perWindow('hourly_sales'),
    daily: perWindow('daily_sales'),
  };
}

// ---- the page ---------------------------------------------------------------------

// What the page shows: each figure's text and data-value.
function readPage(page) {
  return page.evaluate(() => {
    const fig = (id) => {
      const node = document.getElementById(id);
      return { text: node.textContent, value: node.dataset.value };
    };
    const cell = (tr, cls) => tr.querySelector(`.${cls}`);
    return {
      status: document.getElementById('status').textContent,
      updated: document.body.dataset.updated,
      day: document.getElementById('today-day').dataset.value,
      hour: document.getElementById('hour-window').dataset.value,
      today: {
        orders: fig('today-orders'),
        revenue: fig('today-revenue'),
        units: fig('today-units'),
        returns: fig('today-returns'),
      },
      thisHour: { orders: fig('hour-orders'), revenue: fig('hour-revenue') },
      categories: [...document.querySelectorAll('#popular-categories tbody tr[data-category]')]
        .map(
          (tr) =>
            `${tr.dataset.category}|${tr.querySelector('th').textContent}|` +
            `${cell(tr, 'units').dataset.value}|${cell(tr, 'revenue').textContent}`
        )
        .join(' '),
      bars: Object.fromEntries(
        ['hourly-chart', 'daily-chart'].map((id) => [
          id,
          [...document.querySelectorAll(`#${id} rect[data-t]`)].map((r) => [
            Date.parse(r.dataset.t),
            Number(r.dataset.value),
          ]),
        ])
      ),
      top: [...document.querySelectorAll('#top-products tbody tr[data-sku]')]
        .map((tr) => `${tr.dataset.sku}:${cell(tr, 'units').dataset.value}:${cell(tr, 'revenue').textContent}`)
        .join(' '),
      groups: [...document.querySelectorAll('#accounting tbody tr[data-group]')].map((tr) => ({
        group: tr.dataset.group,
        consumed: cell(tr, 'consumed').dataset.value,
        unaccounted: cell(tr, 'unaccounted').dataset.value,
        text: cell(tr, 'unaccounted').textContent,
      })),
      deadLetters: [...document.querySelectorAll('#dead-letters tbody tr[data-topic]')].map((tr) => ({
        topic: tr.dataset.topic,
        records: tr.querySelector('td.num').dataset.value,
      })),
      noReload: window.dashboardTestMarker === true,
    };
  });
}

// Differences between the page and SQL, as text (empty: they agree).
function differences(shown, want) {
  const out = [];
  const money = (name, fig, sqlValue, cents) => {
    if (fig.text.replaceAll(',', '') !== cents) out.push(`${name} shows ${fig.text}, SQL ${cents}`);
    if (Number(fig.value) !== Number(sqlValue)) out.push(`${name} data-value ${fig.value}, SQL ${sqlValue}`);
  };
  const count = (name, fig, sqlValue) => {
    if (fig.value !== sqlValue || fig.text.replaceAll(',', '') !== sqlValue) {
      out.push(`${name} shows ${fig.text} (${fig.value}), SQL ${sqlValue}`);
    }
  };
  count('today orders', shown.today.orders, want.today.orders);
  money('today revenue', shown.today.revenue, want.today.revenue, want.today.cents);
  count('today units', shown.today.units, want.today.units);
  count('today returns', shown.today.returns, want.today.returns);
  count('hour orders', shown.thisHour.orders, want.hour.orders);
  money('hour revenue', shown.thisHour.revenue, want.hour.revenue, want.hour.cents);
  const top = shown.top.replaceAll(',', '');
  if (top !== want.top) out.push(`top products ${top}, SQL ${want.top}`);
  const categories = shown.categories.replaceAll(',', '');
  if (categories !== want.categories) {
    out.push(`popular categories ${categories}, SQL ${want.categories}`);
  }
  // Each bar is the window's revenue (summed in the browser's doubles: to
  // the cent) and 0 for a window SQL has no row for.
  for (const [id, view, count] of [
    ['hourly-chart', 'hourly', 48],
    ['daily-chart', 'daily', 30],
  ]) {
    const bars = shown.bars[id];
    if (bars.length !== count) {
      out.push(`${id} has ${bars.length} bars, not ${count}`);
      continue;
    }
    const wrong = bars
      .map(([t, value]) => [t, value, want[view].get(t) ?? 0])
      .filter(([, value, cents]) => Math.abs(value - cents) > 0.0051);
    for (const [t, value, cents] of wrong.slice(0, 3)) {
      out.push(`${id} bar ${new Date(t).toISOString()} is ${value}, SQL ${cents}`);
    }
    if (wrong.length > 3) out.push(`and ${wrong.length - 3} more bars of ${id}`);
  }
  return out;
}

// Records in the page when the figures it shows change, so the moment they
// reached the screen is known to a frame, however slowly the test polls.
function installRecorder(page) {
  return page.evaluate(() => {
    window.dashboardTestMarker = true;
    window.dashboardTestChanges = [];
    const ids = ['today-orders', 'today-revenue', 'today-units', 'today-returns', 'hour-orders', 'hour-revenue'];
    const snapshot = () =>
      ids.map((id) => document.getElementById(id).textContent).join('|') +
      '|' +
      [...document.querySelectorAll('#top-products tbody tr')].map((tr) => tr.textContent).join('|');
    let last = snapshot();
    new MutationObserver(() => {
      const now = snapshot();
      if (now !== last) {
        last = now;
        window.dashboardTestChanges.push(Date.now());
      }
    }).observe(document.getElementById('main'), { subtree: true, childList: true, characterData: true });
  });
}

// Polls until the page shows what SQL says; returns when its figures last
// changed before that (the render that made them right).
async function waitForMatch(page, label) {
  const deadline = Date.now() + DEADLINE_MS;
  let diff = ['not read yet'];
  let shown;
  while (Date.now() < deadline) {
    shown = await readPage(page);
    diff = differences(shown, expected(shown.day, shown.hour));
    if (diff.length === 0) break;
    await sleep(100);
  }
  check(diff.length === 0, `${label}: the page did not come to show SQL's figures: ${diff.join('; ')}`);
  check(shown.noReload, `${label}: the page was reloaded`);
  const changes = await page.evaluate(() => window.dashboardTestChanges);
  return { shown, changedAt: changes.length ? changes.at(-1) : null };
}

async function waitForStatus(page, predicate, what, timeout) {
  const deadline = Date.now() + timeout;
  let status;
  while (Date.now() < deadline) {
    status = await page.textContent('#status');
    if (predicate(status)) return status;
    await sleep(100);
  }
  throw new Failure(`the status did not become ${what} within ${timeout / 1000} s (it says "${status}")`);
}

// The accounting panel: each group as SQL counts it, unaccounted 0.
async function checkAccounting(page) {
  const want = new Map(
    sql(
      `SELECT group_id, sum(consumed), sum(unaccounted) FROM partition_accounting ` +
        `WHERE group_id IN ('${SINK_GROUP}', '${AGG_GROUP}') GROUP BY group_id`
    ).map(([g, c, u]) => [g, { consumed: c, unaccounted: u }])
  );
  check(want.size === 2, `SQL has accounting for ${want.size} of the 2 groups`);
  for (const w of want.values()) check(w.unaccounted === '0', `SQL says unaccounted ${w.unaccounted}`);
  const deadline = Date.now() + DEADLINE_MS;
  let problems;
  while (Date.now() < deadline) {
    const shown = await readPage(page);
    problems = [];
    for (const [group, w] of want) {
      const rows = shown.groups.filter((r) => r.group === group);
      const sum = rows.reduce((a, r) => a + Number(r.consumed), 0);
      if (rows.length === 0) problems.push(`no accounting row for ${group}`);
      else if (String(sum) !== w.consumed) problems.push(`${group} consumed ${sum}, SQL ${w.consumed}`);
      for (const r of rows) {
        if (r.unaccounted !== '0' || r.text !== '0') problems.push(`${group} unaccounted shows "${r.text}"`);
      }
    }
    if (!shown.deadLetters.some((d) => d.topic === DLQ && Number(d.records) > 0)) {
      problems.push(`no dead letters shown for ${DLQ}: ${JSON.stringify(shown.deadLetters)}`);
    }
    if (problems.length === 0) return;
    await sleep(250);
  }
  throw new Failure(`the accounting panel: ${problems.join('; ')}`);
}

// Accessibility basics and the layout at the page's current width.
async function checkPage(page, label) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const node of document.querySelectorAll('img, svg')) {
      const titled =
        node.getAttribute('aria-label') ||
        node.getAttribute('aria-labelledby') ||
        node.getAttribute('alt') ||
        (node.tagName.toLowerCase() === 'svg' && node.querySelector(':scope > title'));
      if (!titled) out.push(`${node.tagName} without a title or label`);
    }
    for (const table of document.querySelectorAll('table')) {
      if (!table.caption || !table.caption.textContent.trim()) out.push(`table #${table.id} has no caption`);
    }
    const status = document.getElementById('status');
    if (!status || status.getAttribute('role') !== 'status') out.push('no element with role=status');
    if (document.querySelectorAll('main svg[role=img]').length < 2) out.push('the two charts are not drawn');
    for (const node of document.querySelectorAll('[tabindex]')) {
      if (Number(node.getAttribute('tabindex')) > 0) out.push('a positive tabindex');
    }
    const root = document.documentElement;
    if (root.scrollWidth > window.innerWidth) {
      out.push(`horizontal scroll: ${root.scrollWidth} px wide in a ${window.innerWidth} px window`);
    }
    return out;
  });
  check(problems.length === 0, `${label}: ${problems.join('; ')}`);
}

// Events timed now, or spread over the last `spread` seconds (the charts get
// bars; today and this hour still get their share).
// The keyboard reaches the skip link first, then the scrollable tables.
async function checkKeyboard(page) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const focused = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    focused.push(
      await page.evaluate(() => {
        const a = document.activeElement;
        return a ? `${a.tagName.toLowerCase()}${a.className ? `.${a.className}` : ''}` : 'none';
      })
    );
  }
  check(
    focused[0] === 'a.skip-link' && focused[1] === 'div.table-scroll',
    `Tab goes to ${focused.join(', ')}, not the skip link and then the tables`
  );
}

function produce(count, seed, spread = 0) {
  const r = spawnSync(
    env('DASHBOARD_MILLRACE_BIN'),
    [
      'produce', '--count', String(count), '--seed', String(seed), '--bad-ratio', '0.05',
      '--time-spread', String(spread), '--progress', 'never',
    ],
    { encoding: 'utf8' }
  );
  check(r.status === 0, `millrace produce failed: ${r.stdout} ${r.stderr}`);
  check(r.stdout.includes('"failed_deliveries":0'), `millrace produce: ${r.stdout}`);
}

// Orders (the declared kind `order`) to the orders' topic, which the test's
// order aggregator reads.
function produceOrders(count, seed) {
  const r = spawnSync(
    env('DASHBOARD_MILLRACE_BIN'),
    ['produce', '--kind', 'order', '--count', String(count), '--seed', String(seed), '--progress', 'never'],
    { encoding: 'utf8' }
  );
  check(r.status === 0, `millrace produce --kind order failed: ${r.stdout} ${r.stderr}`);
  check(r.stdout.includes('"failed_deliveries":0'), `millrace produce --kind order: ${r.stdout}`);
}

// The orders section equals the web_orders_* views: today's count and
// revenue, and the top products in rank order (deadline 120 s).
async function waitForOrders(page, total) {
  const deadline = Date.now() + DEADLINE_MS;
  while (consumed(env('DASHBOARD_ORDERS_GROUP')) < total) {
    check(Date.now() < deadline, `the order aggregator did not consume ${total} orders in time`);
    await sleep(100);
  }
  let last = '';
  for (;;) {
    const [[orders, revenue]] = sql('SELECT orders, revenue FROM web_orders_today');
    const top = sql('SELECT product_id, units FROM web_orders_top_products ORDER BY rank')
      .map(([p, u]) => `${p}:${u}`)
      .join(' ');
    const shown = await page.evaluate(() => ({
      // The orders' panel is built from GET /v1/views once the page has it.
      orders: document.getElementById('web-orders-today-orders')?.dataset.value,
      revenue: document.getElementById('web-orders-today-revenue')?.dataset.value,
      top: [...document.querySelectorAll('#web-orders-top-products tbody tr[data-product]')]
        .map((tr) => `${tr.dataset.product}:${tr.querySelector('.units').dataset.value}`)
        .join(' '),
    }));
    last = `page ${JSON.stringify(shown)}, SQL orders=${orders} revenue=${revenue} top=${top}`;
    if (shown.orders === orders && Number(shown.revenue) === Number(revenue) && shown.top === top) {
      check(Number(orders) > 0, 'web_orders_today has no orders');
      return shown;
    }
    check(Date.now() < deadline, `the orders section never matched the views: ${last}`);
    await sleep(200);
  }
}

// ---- declared views ------------------------------------------------------------------

// GET /v1/views/<name>, all its rows.
async function served(name) {
  const response = await fetch(new URL(`/v1/views/${name}?limit=10000`, URL_));
  check(response.ok, `GET /v1/views/${name} answered ${response.status}`);
  return (await response.json()).rows;
}

// A declared view's chart, after choosing `measure` (and `group`, a JSON
// array of its groups' values): each bar's window and value.
async function chartOf(page, id, measure, group) {
  await page.selectOption(`#${id}-measure`, measure);
  if (group !== undefined) await page.selectOption(`#${id}-group`, group);
  return page.$$eval(`#${id}-chart rect.bar`, (bars) =>
    bars.map((b) => ({ t: Date.parse(b.dataset.t), value: Number(b.dataset.value) }))
  );
}

// The bars equal the API's rows (of `group`) in the windows they show, a
// window without a row being 0, and every row of those windows is a bar;
// null if so, else what differs.
function chartDiffers(bars, rows, measure, dimension, group) {
  if (!bars.length) return 'no bars';
  const first = bars[0].t;
  const want = new Map();
  for (const r of rows) {
    if (dimension && String(r[dimension]) !== group) continue;
    if (Date.parse(r.window_start) >= first) want.set(Date.parse(r.window_start), Number(r[measure]));
  }
  for (const b of bars) {
    if (b.value !== (want.get(b.t) ?? 0)) {
      return `${measure} at ${new Date(b.t).toISOString()}: bar ${b.value}, API ${want.get(b.t)}`;
    }
    want.delete(b.t);
  }
  if (!want.size) return null;
  const missing = [...want.keys()].map((t) => new Date(t).toISOString());
  return `windows the API has and the chart not: ${missing.join(', ')}`;
}

// A top N's newest window on the page against GET /v1/views/<name>'s
// (rank, product, units); null if they are the same, else what differs.
async function topDiffers(page, name) {
  const rows = await served(name);
  const newest = rows.reduce(
    (a, r) => (a === null || Date.parse(r.window_start) > Date.parse(a) ? r.window_start : a),
    null
  );
  const want = rows
    .filter((r) => r.window_start === newest)
    .map((r) => `${r.rank}:${r.product_id}:${r.units}`)
    .join(' ');
  const shown = await page.$$eval(`#view-${name.replaceAll('_', '-')}-top tbody tr[data-rank]`, (trs) =>
    trs
      .map((tr) => {
        const product = tr.querySelector('.product_id').textContent;
        return `${tr.dataset.rank}:${product}:${tr.querySelector('.units').dataset.value}`;
      })
      .join(' ')
  );
  if (!want) return `${name} has no rows`;
  if (shown !== want) return `${name}: page ${shown}, API ${want}`;
  return null;
}

// The declared views of order.views.json (and of order.json) on the page
// equal GET /v1/views/<name>: the hourly chart per measure, the per-product
// chart for a chosen product, and the top N's newest window (deadline 120 s).
async function waitForDeclared(page) {
  const deadline = Date.now() + DEADLINE_MS;
  let last = '';
  for (;;) {
    const problems = [];
    const hourly = await served('order_revenue_hourly');
    for (const measure of ['orders', 'revenue']) {
      const bars = await chartOf(page, 'view-order-revenue-hourly', measure);
      const d = chartDiffers(bars, hourly, measure);
      if (d) problems.push(`order_revenue_hourly: ${d}`);
    }
    const perProduct = await served('order_units_per_product_hourly');
    // The product of the newest row: the group the chart is asked for.
    const product = perProduct.length ? perProduct.at(-1).product_id : null;
    if (product === null) {
      problems.push('order_units_per_product_hourly has no rows');
    } else {
      // The page keeps numbers as the server's digits: its group key is text.
      const key = JSON.stringify([String(product)]);
      const bars = await chartOf(page, 'view-order-units-per-product-hourly', 'units', key);
      const d = chartDiffers(bars, perProduct, 'units', 'product_id', String(product));
      if (d) problems.push(`order_units_per_product_hourly, product ${product}: ${d}`);
    }
    for (const name of ['order_top_products_daily', 'web_orders_top_products_per_local_day']) {
      const d = await topDiffers(page, name);
      if (d) problems.push(d);
    }
    if (!problems.length) return;
    last = problems.join('; ');
    check(Date.now() < deadline, `the declared views' panels never matched GET /v1/views: ${last}`);
    await sleep(300);
  }
}

// ---- the services the script starts ------------------------------------------------------

// Starts `bin` with the test's environment and `extraEnv`, its output
// appended to `logFile` and its pid in `pidFile` (for the shell's cleanup);
// `exited` says how it ended.
function spawnService(bin, logFile, pidFile, extraEnv = {}) {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(bin, [], { stdio: ['ignore', out, out], env: { ...process.env, ...extraEnv } });
  fs.closeSync(out);
  fs.writeFileSync(pidFile, String(proc.pid));
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return proc;
}

// SIGTERM, on which it must exit 0.
async function stopService(proc, pidFile, what) {
  proc.kill('SIGTERM');
  const { code, signal } = await proc.exited;
  fs.writeFileSync(pidFile, '');
  check(code === 0, `${what} did not exit 0 on SIGTERM (code ${code}, signal ${signal})`);
}

// ---- a view added once its kind's records were folded --------------------------------

// The views the test adds to the views file, a chart's and a top N's: two
// of its views under other names, so that they are filled from the orders
// folded before them.
const ADDED = 'order_revenue_hourly_added';
const ADDED_TOP = 'order_top_products_daily_added';
const idOf = (name) => `view-${name.replaceAll('_', '-')}`;

// GET /v1/views/<name>'s whole body (its `fill` too).
async function servedBody(name) {
  const response = await fetch(new URL(`/v1/views/${name}?limit=10000`, URL_));
  check(response.ok, `GET /v1/views/${name} answered ${response.status}`);
  return response.json();
}

function run(args, what) {
  const r = spawnSync(env('DASHBOARD_MILLRACE_BIN'), args, { encoding: 'utf8' });
  check(r.status === 0, `${what} failed: ${r.stdout} ${r.stderr}`);
}

// A psql session of its own that runs `statements` in a transaction and
// holds what they lock until release(). Held once the session names itself
// `marker` (its last statement): pg_stat_activity says so.
async function holdLocks(statements, what) {
  const marker = `dashboard-test-${process.pid}-${Date.now()}`;
  const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', PG], {
    env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  psql.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => psql.once('exit', (code) => resolve(code)));
  psql.stdin.write(`BEGIN;\n${statements}\nSET application_name = '${marker}';\n`);
  const deadline = Date.now() + 60_000;
  while (sql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${marker}'`)[0][0] !== '1') {
    const code = await Promise.race([exited, sleep(100)]);
    check(code === undefined, `psql holding ${what} exited (${code}): ${stderr}`);
    check(Date.now() < deadline, `psql did not hold ${what} within 60 s: ${stderr}`);
  }
  return async () => {
    psql.stdin.end('COMMIT;\n');
    const code = await exited;
    check(code === 0, `psql holding ${what} ended with ${code}: ${stderr}`);
  };
}

// Whether a process is gone: exited and reaped, or a zombie its parent (the
// shell script, which waits for node) has not reaped yet.
function gone(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return true;
  }
}

let ordersAggregator = null;

// Stops the order aggregator (the shell's, or the one started here) and
// starts another, which reads the kinds directory again.
async function restartOrdersAggregator() {
  const pidFile = env('DASHBOARD_ORDERS_PID_FILE');
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  check(pid > 0, `no order aggregator in ${pidFile}`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (!gone(pid)) {
    check(Date.now() < deadline, 'the order aggregator did not stop within 60 s of SIGTERM');
    await sleep(100);
  }
  const port = await new Promise((resolve) => {
    const probe = http.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address();
      probe.close(() => resolve(p));
    });
  });
  const bin = env('DASHBOARD_AGGREGATOR_BIN');
  ordersAggregator = spawnService(bin, env('DASHBOARD_ORDERS_LOG'), pidFile, {
    MILLRACE_KIND: 'order',
    MILLRACE_AGGREGATOR_GROUP: env('DASHBOARD_ORDERS_GROUP'),
    MILLRACE_CLIENT_ID: `${env('DASHBOARD_CLIENT_ID')}-orders-aggregator-again`,
    MILLRACE_METRICS_ADDR: `127.0.0.1:${port}`,
  });
}

async function stopOrdersAggregator() {
  if (!ordersAggregator) return;
  const proc = ordersAggregator;
  ordersAggregator = null;
  await stopService(proc, env('DASHBOARD_ORDERS_PID_FILE'), 'the order aggregator');
}

// What an added view's panel says: its fill line, and a chart's title and
// whether it is drawn as partial, or a top N's caption and window line.
function fillShown(page, name) {
  return page.evaluate((id) => {
    const text = (node) => (node ? node.textContent : null);
    const line = document.getElementById(`${id}-fill`);
    const box = document.getElementById(`${id}-chart`);
    const table = document.getElementById(`${id}-top`);
    const progress = line && line.querySelector('progress');
    return {
      state: line ? line.dataset.fill : null,
      text: text(line),
      read: line ? line.dataset.read : null,
      total: line ? line.dataset.total : null,
      progress: progress ? progress.value : null,
      title: text(box && box.querySelector('svg > title')),
      partial: box ? box.classList.contains('partial') : null,
      caption: text(table && table.caption),
      window: text(document.getElementById(`${id}-window`)),
    };
  }, idOf(name));
}

// Polls until `problems()` finds none (deadline 120 s).
async function waitUntil(what, problems) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = await problems();
    if (!found.length) return;
    check(Date.now() < deadline, `${what}: ${found.join('; ')}`);
    await sleep(300);
  }
}

const fillState = (name) =>
  sql(`SELECT state FROM aggregator_views WHERE view_name = '${name}'`).map(([state]) => state)[0];

async function waitForState(name, state) {
  const deadline = Date.now() + DEADLINE_MS;
  while (fillState(name) !== state) {
    check(Date.now() < deadline, `${name} did not become ${state} in time (${fillState(name)})`);
    await sleep(200);
  }
}

const fillRead = (name) =>
  Number(sql(`SELECT sum(done_offset) FROM aggregator_view_fills WHERE view_name = '${name}'`)[0][0]);

// What is wrong with a fill line that should say `state`, with `read` of
// `total` offsets read when filling.
function fillLineProblems(name, shown, state, read, total) {
  const out = [];
  const starts = { unfilled: '⚠ Waiting to be filled:', filling: '⚠ Filling:', filled: 'Filled:' }[state];
  if (shown.state !== state || !(shown.text || '').startsWith(starts)) {
    out.push(`${name}'s fill line says ${shown.state}: "${shown.text}", not ${state}`);
  }
  if (state !== 'filling') return out;
  if (shown.read !== String(read) || shown.total !== String(total)) {
    out.push(`${name} read ${shown.read} of ${shown.total}, SQL ${read} of ${total}`);
  }
  const said = `${read.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} offsets read`;
  if (!shown.text.includes(said)) out.push(`${name}'s line says "${shown.text}", not that ${said}`);
  if (shown.progress !== read) out.push(`${name}'s progress bar is at ${shown.progress}, not ${read}`);
  return out;
}

// What the chart of the added chart's view shows against what the API
// serves meanwhile, and whether it is marked partial as `suffix` says.
async function addedChartProblems(page, shown, body, suffix) {
  const out = [];
  const partial = suffix !== '';
  if (shown.partial !== partial || !(shown.title || '').endsWith(`${ADDED}${suffix}`)) {
    out.push(`${ADDED}'s chart is ${shown.partial ? '' : 'not '}drawn partial, titled "${shown.title}"`);
  }
  const d = chartDiffers(await chartOf(page, idOf(ADDED), 'orders'), body.rows, 'orders');
  if (d) out.push(`${ADDED}'s chart: ${d}`);
  return out;
}

// Filled, an added view serves what the view it copies does.
async function sameRows(name, original, columns) {
  const rowsOf = async (view) =>
    (await served(view)).map((r) => columns.map((c) => r[c]).join(':')).join(' ');
  const [added, want] = [await rowsOf(name), await rowsOf(original)];
  check(added === want, `filled, ${name} serves ${added}, ${original} ${want}`);
}

// Two views added to the orders' views file once their records were
// folded: made by `millrace migrate` (unfilled), claimed by the order
// aggregator started again (filling) and filled from the orders before
// them, one view after the other. The fills are held with locks (no
// timing): the chart's halfway, the top N's behind it. The page must say
// they wait; then that they are filling with the offsets SQL says they
// read of those they must, marked partial, the chart equal to what the API
// serves meanwhile; once the locks go, that they are filled, no longer
// partial.
async function checkFill(page) {
  const file = `${env('MILLRACE_KINDS_DIR')}/order.views.json`;
  const views = JSON.parse(fs.readFileSync(file, 'utf8'));
  const copy = (original, name) => ({
    ...views.views.find((v) => v.name === original),
    name,
    description: `${original}, added once the orders were folded`,
  });
  views.views.push(copy('order_revenue_hourly', ADDED), copy('order_top_products_daily', ADDED_TOP));
  fs.writeFileSync(file, JSON.stringify(views, null, 1));
  run(['migrate'], 'millrace migrate (the added views)');
  for (const name of [ADDED, ADDED_TOP]) {
    check(fillState(name) === 'unfilled', `after millrace migrate ${name} is ${fillState(name)}, not unfilled`);
  }
  run(['changefeed', 'publish', '--grant-select', env('DASHBOARD_FEED_ROLE')], 'millrace changefeed publish');
  run(['api', 'grant', '--reader', env('DASHBOARD_READER')], 'millrace api grant');

  // Their aggregator has not claimed them: the API, started again with
  // them, serves them unfilled, and the page builds their panels.
  apiDown = true;
  await stopApi();
  await startApi();
  await waitForStatus(page, (s) => s === 'Live', '"Live" with the added views', 60_000);
  apiDown = false;
  await waitUntil('the added views never showed as waiting to be filled', async () => {
    const out = fillLineProblems(ADDED, await fillShown(page, ADDED), 'unfilled');
    const top = await fillShown(page, ADDED_TOP);
    out.push(...fillLineProblems(ADDED_TOP, top, 'unfilled'));
    if (!(top.caption || '').endsWith(' (partial: not filled yet)')) out.push(`${ADDED_TOP}'s caption: ${top.caption}`);
    return out;
  });
  log('the added views show as waiting to be filled');

  // Their tables locked, the fills fold nothing; then the range of the
  // chart's view's last partition locked, its fill stops before it once the
  // tables are free, and the top N's (filled next) waits for it.
  const tables = `agg_view_${ADDED}, agg_view_${ADDED_TOP}`;
  const releaseTables = await holdLocks(`LOCK TABLE ${tables} IN SHARE MODE;`, `a lock on ${tables}`);
  await restartOrdersAggregator();
  for (const name of [ADDED, ADDED_TOP]) await waitForState(name, 'filling');
  const ranges = sql(
    `SELECT partition, until_offset FROM aggregator_view_fills WHERE view_name = '${ADDED}' ` +
      'AND until_offset > 0 ORDER BY partition'
  ).map(([p, until]) => [Number(p), Number(until)]);
  check(ranges.length >= 2, `${ADDED} has ${ranges.length} range(s) to fill, not 2 or more`);
  const [held] = ranges.at(-1);
  const releaseRange = await holdLocks(
    `SELECT 1 FROM aggregator_view_fills WHERE view_name = '${ADDED}' AND partition = ${held} FOR UPDATE;`,
    `${ADDED}'s range of partition ${held}`
  );
  await releaseTables();
  const wantRead = ranges.slice(0, -1).reduce((a, [, until]) => a + until, 0);
  const wantTotal = ranges.reduce((a, [, until]) => a + until, 0);
  const [[topTotal]] = sql(`SELECT sum(until_offset) FROM aggregator_view_fills WHERE view_name = '${ADDED_TOP}'`);
  const deadline = Date.now() + DEADLINE_MS;
  while (fillRead(ADDED) !== wantRead) {
    check(Date.now() < deadline, `the fill read ${fillRead(ADDED)} offsets, not the ${wantRead} before partition ${held}`);
    await sleep(200);
  }
  check(fillRead(ADDED_TOP) === 0, `${ADDED_TOP}'s fill read ${fillRead(ADDED_TOP)} offsets before ${ADDED}'s ended`);
  await waitUntil('the added views never showed as filling', async () => {
    const body = await servedBody(ADDED);
    const out = [];
    if (!body.fill || body.fill.state !== 'filling') out.push(`the API says ${ADDED} ${JSON.stringify(body.fill)}`);
    const shown = await fillShown(page, ADDED);
    out.push(...fillLineProblems(ADDED, shown, 'filling', wantRead, wantTotal));
    out.push(...(await addedChartProblems(page, shown, body, ' (partial: being filled)')));
    const top = await fillShown(page, ADDED_TOP);
    out.push(...fillLineProblems(ADDED_TOP, top, 'filling', 0, Number(topTotal)));
    if (!(top.caption || '').endsWith(' (partial: being filled)')) out.push(`${ADDED_TOP}'s caption: ${top.caption}`);
    return out;
  });
  log(`${ADDED} shows as filling, ${wantRead} of ${wantTotal} offsets read, its chart partial; ${ADDED_TOP} too`);
  await page.locator(`section[data-view="${ADDED}"]`).screenshot({ path: `${LOGS}/dashboard-view-filling.png` });

  await releaseRange();
  for (const name of [ADDED, ADDED_TOP]) await waitForState(name, 'filled');
  await waitUntil('the added views never showed as filled', async () => {
    const out = [];
    const body = await servedBody(ADDED);
    if (body.fill) out.push(`the API still says ${ADDED} ${JSON.stringify(body.fill)}`);
    const shown = await fillShown(page, ADDED);
    out.push(...fillLineProblems(ADDED, shown, 'filled'));
    out.push(...(await addedChartProblems(page, shown, body, '')));
    const top = await fillShown(page, ADDED_TOP);
    out.push(...fillLineProblems(ADDED_TOP, top, 'filled'));
    if (top.caption !== `${ADDED_TOP}, the newest window` || /partial/.test(top.window || '')) {
      out.push(`${ADDED_TOP} is still marked partial: "${top.caption}", "${top.window}"`);
    }
    const d = await topDiffers(page, ADDED_TOP);
    if (d) out.push(d);
    return out;
  });
  await sameRows(ADDED, 'order_revenue_hourly', ['window_start', 'orders', 'revenue']);
  await sameRows(ADDED_TOP, 'order_top_products_daily', ['window_start', 'rank', 'product_id', 'units']);
  log('the added views show as filled, no longer partial');
}

// ---- millrace-api --------------------------------------------------------------------

let api = null;

// `extraEnv`: settings on top of the test's environment (a read token).
async function startApi(extraEnv = {}) {
  const [bin, logFile, pidFile] = ['BIN', 'LOG', 'PID_FILE'].map((v) => env(`DASHBOARD_API_${v}`));
  api = spawnService(bin, logFile, pidFile, extraEnv);
  const { exited } = api;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(new URL('/readyz', URL_)).then((r) => r.ok, () => false);
    if (ready) return;
    const gone = await Promise.race([exited, sleep(200)]);
    check(gone === undefined, `millrace-api exited at start (${JSON.stringify(gone)}); see its log`);
    check(Date.now() < deadline, 'millrace-api did not become ready in 60 s');
  }
}

async function stopApi() {
  if (!api) return;
  const proc = api;
  api = null;
  await stopService(proc, env('DASHBOARD_API_PID_FILE'), 'millrace-api');
}

// Answers 503 on millrace-api's port for `ms`; returns how many times the
// stream was asked for.
async function answer503For(ms) {
  let attempts = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/stream') attempts += 1;
    res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    res.end('{"title":"Service Unavailable","status":503}');
  });
  const { hostname, port } = new URL(URL_);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, resolve);
  });
  await sleep(ms);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return attempts;
}

// ---- the test -------------------------------------------------------------------------

// `serverMs`: of that delay, the part until millrace-api read the views it
// sent (the views event's "at"): the change feed and the API; the rest is
// the stream and the page.
// `committedAt`: the commit measured from, in its own column: the line's
// time less the delay is not it (the match is read after the page changed).
function recordDelay(phase, events, committedAt, delayMs, serverMs) {
  const line = [
    new Date().toISOString(),
    phase,
    events,
    (delayMs / 1000).toFixed(3),
    (serverMs / 1000).toFixed(3),
    new Date(committedAt).toISOString(),
  ].join('\t');
  const file = `${LOGS}/dashboard-delay.tsv`;
  const header = 'time\tphase\tevents\tcommit_to_screen_s\tcommit_to_api_read_s\tcommitted_at\n';
  // A file of the columns before committed_at is kept aside, not mixed in.
  if (fs.existsSync(file) && !fs.readFileSync(file, 'utf8').startsWith(header)) {
    fs.renameSync(file, `${LOGS}/dashboard-delay.${Date.now()}.tsv`);
  }
  if (!fs.existsSync(file)) fs.writeFileSync(file, header);
  fs.appendFileSync(file, `${line}\n`);
}

// Console lines of a page: any error or warning fails the test, but for the
// browser's own lines about the stream's requests (and the page's check of
// whether it may read, GET /v1/views) while millrace-api is down, and the
// 401s a page that has not signed in gets.
const consoleProblems = [];
let apiDown = false;
let signingIn = false;
function watchConsole(page, label) {
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const where = m.location().url || '';
    const streamRequest =
      where.endsWith('/v1/stream') || where.endsWith('/v1/views') || /\/v1\/stream\b/.test(m.text());
    const networkLine = /^Failed to load resource|net::ERR_/.test(m.text());
    if (apiDown && networkLine && (streamRequest || where === '')) {
      log(`${label} console (API down, expected): ${m.text()} ${where}`);
      return;
    }
    const unauthorized = /status of 401/.test(m.text());
    if (signingIn && networkLine && unauthorized) {
      log(`${label} console (not signed in, expected): ${m.text()} ${where}`);
      return;
    }
    consoleProblems.push(`${label} console ${m.type()}: ${m.text()} ${where}`);
  });
  page.on('pageerror', (e) => consoleProblems.push(`${label} page error: ${e.message}`));
}

async function main() {
  const browser = await chromium.launch({
    executablePath: env('DASHBOARD_CHROMIUM'),
    args: ['--no-sandbox'],
    headless: true,
  });
  try {
    await startApi();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    watchConsole(page, 'desktop');
    const response = await page.goto(URL_, { waitUntil: 'load' });
    check(response && response.status() === 200, `GET / answered ${response && response.status()}`);
    await waitForStatus(page, (s) => s === 'Live', '"Live"', 60_000);
    await installRecorder(page);
    log('the page is Live');

    // 1. Events reach the page as they commit.
    let total = 2000;
    produce(2000, 1, 48 * 3600);
    let committedAt = await aggregatorCommitted(total);
    let { shown, changedAt } = await waitForMatch(page, 'after 2000 events');
    const delays = [];
    const measure = async (phase) => {
      check(changedAt !== null, `${phase}: the page's figures never changed`);
      const delay = changedAt - committedAt;
      // The "at" of the last views event the page applied: when the API read them.
      const read = Date.parse(await page.$eval('#updated', (e) => e.getAttribute('datetime')));
      delays.push(delay);
      recordDelay(phase, total, committedAt, delay, read - committedAt);
      // The commit measured from, by its own time: the line's time less the
      // delay is not it (the test reads the page and SQL after the match).
      console.log(
        `commit-to-screen: ${(delay / 1000).toFixed(2)} s (${phase}; the commit at ` +
          `${new Date(committedAt).toISOString()}, the API read the views ` +
          `${((read - committedAt) / 1000).toFixed(2)} s after it)`
      );
    };
    await measure('first');
    log(`the page shows today's ${shown.today.orders.text} orders, ${shown.today.revenue.text} revenue`);
    await checkAccounting(page);
    await checkPage(page, 'at 1280×800');
    await checkKeyboard(page);

    // Orders reach their section as the order aggregator commits them.
    produceOrders(300, 4);
    const orders = await waitForOrders(page, 300);
    log(`the orders section shows ${orders.orders} orders today, top products ${orders.top.split(' ').length}`);
    // Their declared views, three from a views file, reach their panels.
    await waitForDeclared(page);
    log('the declared views\' charts and tables equal GET /v1/views/<name>');
    // A view added to them is shown filling, then filled.
    await checkFill(page);

    // 2. millrace-api stops and comes back on the same port.
    apiDown = true;
    await stopApi();
    const down = await waitForStatus(page, (s) => s !== 'Live', 'anything but "Live"', 30_000);
    check(down === 'Reconnecting…', `with the API down the status says "${down}", not "Reconnecting…"`);
    log('the API is down; the page says', down);
    produce(100, 2); // while down: only the new connection's snapshot can bring these
    total += 100;
    await aggregatorCommitted(total);
    await sleep(2000);
    // Something else answers on the port for a while, with 503s: EventSource
    // gives up on such an answer (CLOSED), so only the page can try again.
    const attempts = await answer503For(4000);
    check(attempts >= 2, `the page asked for the stream ${attempts} time(s) while it got 503s; it gave up`);
    log(`the page asked ${attempts} times for the stream while it got 503s`);
    const still = await page.textContent('#status');
    check(still === 'Reconnecting…', `after a few seconds down the status says "${still}"`);
    await startApi();
    await waitForStatus(page, (s) => s === 'Live', '"Live" again', 60_000);
    apiDown = false;
    log('the API is back and the page is Live again');
    await waitForMatch(page, 'after the restart (events produced while down)');
    produce(100, 3);
    total += 100;
    committedAt = await aggregatorCommitted(total);
    ({ shown, changedAt } = await waitForMatch(page, 'after the restart'));
    await measure('after-restart');
    await checkAccounting(page);

    await page.screenshot({ path: `${LOGS}/dashboard-1280x800.png`, fullPage: true });

    // 3. A phone.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const small = await phone.newPage();
    watchConsole(small, 'phone');
    await small.goto(URL_, { waitUntil: 'load' });
    await waitForStatus(small, (s) => s === 'Live', '"Live" on a phone', 60_000);
    await installRecorder(small);
    await waitForMatch(small, 'on a phone');
    await checkPage(small, 'at 390×844');
    await small.screenshot({ path: `${LOGS}/dashboard-phone.png`, fullPage: true });

    // 4. Reads behind a token: the page asks for it once, keeps a session
    // cookie, and follows the stream with it.
    await stopApi();
    const token = `read-${process.pid}-${Date.now()}`;
    await startApi({ MILLRACE_API_READ_TOKEN: token });
    signingIn = true;
    const guarded = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const visitor = await guarded.newPage();
    watchConsole(visitor, 'sign-in');
    await visitor.goto(URL_, { waitUntil: 'load' });
    const asked = await waitForStatus(visitor, (s) => s !== 'Connecting…', 'a sign-in prompt', 30_000);
    check(asked === 'Sign in to see the figures', `without a session the status says "${asked}"`);
    check(await visitor.isVisible('#signin'), 'the sign-in form is not shown');
    await visitor.fill('#signin-token', 'not-the-token');
    await visitor.click('#signin button[type=submit]');
    await visitor.waitForFunction(
      () => document.getElementById('signin-error').textContent !== '',
      null,
      { timeout: 10_000 }
    );
    const refusal = await visitor.textContent('#signin-error');
    check(refusal === 'That token was not accepted.', `a wrong token shows "${refusal}"`);
    await visitor.fill('#signin-token', token);
    await visitor.click('#signin button[type=submit]');
    await waitForStatus(visitor, (s) => s === 'Live', '"Live" after signing in', 60_000);
    check(!(await visitor.isVisible('#signin')), 'the sign-in form stays after signing in');
    const [cookie] = (await guarded.cookies()).filter((c) => c.name === 'millrace_session');
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `the session cookie: ${JSON.stringify(cookie)}`);
    check(!cookie.value.includes(token), 'the session cookie holds the token');
    await installRecorder(visitor);
    await waitForMatch(visitor, 'signed in');
    // A reload keeps the session: no prompt.
    await visitor.reload({ waitUntil: 'load' });
    await waitForStatus(visitor, (s) => s === 'Live', '"Live" after a reload', 60_000);
    check(!(await visitor.isVisible('#signin')), 'a reload asked for the token again');
    signingIn = false;
    log('with a read token the page asked for it, refused a wrong one, and went Live with its session');

    check(consoleProblems.length === 0, `console errors or warnings:\n  ${consoleProblems.join('\n  ')}`);
    await stopApi();
    await stopOrdersAggregator();
    console.log(
      `dashboard: the page followed ${total} events, survived a restart of millrace-api, ` +
        'signed in with a read token; ' +
        `commit-to-screen ${delays.map((d) => `${(d / 1000).toFixed(2)} s`).join(', ')}`
    );
  } finally {
    await browser.close();
    if (api) api.kill('SIGTERM');
    if (ordersAggregator) ordersAggregator.kill('SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`dashboard.test: FAILED: ${e instanceof Failure ? e.message : e.stack}`);
    if (consoleProblems.length) console.error(`console:\n  ${consoleProblems.join('\n  ')}`);
    process.exit(1);
  }
);
