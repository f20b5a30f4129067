// Events and orders produced with the CLI (millrace produce), and the
// orders' section of the page, which must come to equal the web_orders_*
// views once the order aggregator has folded them.

import { spawnSync } from 'node:child_process';

import { consumed } from './figures.mjs';
import { DEADLINE_MS, check, env, sleep, sql } from './harness.mjs';

// Events timed now, or spread over the last `spread` seconds (the charts get
// bars; today and this hour still get their share).
export function produce(count, seed, spread = 0) {
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
export function produceOrders(count, seed) {
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
export async function waitForOrders(page, total) {
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
