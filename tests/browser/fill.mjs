// Views added to a views file once their kind's records were folded: the
// dashboard says each one's fill state (waiting, filling with its progress,
// filled) and marks its figures partial until it is filled.

import fs from 'node:fs';
import http from 'node:http';

import { chartDiffers, chartOf, served, topDiffers } from './declared.mjs';
import {
  DEADLINE_MS,
  LOGS,
  URL_,
  check,
  env,
  gone,
  holdLocks,
  log,
  run,
  sleep,
  spawnService,
  sql,
  stopService,
  waitUntil,
} from './harness.mjs';

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

export async function stopOrdersAggregator() {
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
// partial. `restartApi()` stops millrace-api and starts it again, and
// returns once the page says it is Live.
export async function checkFill(page, restartApi) {
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
  await restartApi();
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

// At the test's end whatever happened: the order aggregator started here, if any, told to stop.
export function killOrdersAggregator() {
  if (ordersAggregator) ordersAggregator.kill('SIGTERM');
}
