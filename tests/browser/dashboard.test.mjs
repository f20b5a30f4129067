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
// The headline figures and the commit-to-screen delay are checked in
// figures.mjs; the status line, the accounting panel, accessibility and the
// keyboard in page.mjs; the orders' section in produce.mjs, which produces
// the events and orders; the declared views' panels in declared.mjs; the
// added views' fill states in fill.mjs. api.mjs starts and stops
// millrace-api, and harness.mjs holds what they share.

import { chromium } from 'playwright-core';

import { answer503For, killApi, startApi, stopApi } from './api.mjs';
import { waitForDeclared } from './declared.mjs';
import { aggregatorCommitted, installRecorder, recordDelay, waitForMatch } from './figures.mjs';
import { checkFill, killOrdersAggregator, stopOrdersAggregator } from './fill.mjs';
import { Failure, LOGS, URL_, check, env, log, sleep } from './harness.mjs';
import { checkAccounting, checkKeyboard, checkPage, waitForStatus } from './page.mjs';
import { produce, produceOrders, waitForOrders } from './produce.mjs';

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
    killApi();
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
