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
// The declared views' panels are checked in declared.mjs, the added views'
// fill states in fill.mjs; harness.mjs holds what they share.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

import { waitForDeclared } from './declared.mjs';
import { checkFill, killOrdersAggregator, stopOrdersAggregator } from './fill.mjs';
import {
  AGG_GROUP,
  DEADLINE_MS,
  DLQ,
  Failure,
  LOGS,
  SINK_GROUP,
  URL_,
  check,
  env,
  log,
  sleep,
  spawnService,
  sql,
  stopService,
} from './harness.mjs';

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
    await checkFill(page, async () => {
      apiDown = true;
      await stopApi();
      await startApi();
      await waitForStatus(page, (s) => s === 'Live', '"Live" with the added views', 60_000);
      apiDown = false;
    });

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
    killOrdersAggregator();
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
