// The declared views' panels of the dashboard against GET /v1/views/<name>.

import { DEADLINE_MS, URL_, check, sleep } from './harness.mjs';

// GET /v1/views/<name>, all its rows.
export async function served(name) {
  const response = await fetch(new URL(`/v1/views/${name}?limit=10000`, URL_));
  check(response.ok, `GET /v1/views/${name} answered ${response.status}`);
  return (await response.json()).rows;
}

// A declared view's chart, after choosing `measure` (and `group`, a JSON
// array of its groups' values): each bar's window and value.
export async function chartOf(page, id, measure, group) {
  await page.selectOption(`#${id}-measure`, measure);
  if (group !== undefined) await page.selectOption(`#${id}-group`, group);
  return page.$$eval(`#${id}-chart rect.bar`, (bars) =>
    bars.map((b) => ({ t: Date.parse(b.dataset.t), value: Number(b.dataset.value) }))
  );
}

// The bars equal the API's rows (of `group`) in the windows they show, a
// window without a row being 0, and every row of those windows is a bar;
// null if so, else what differs.
export function chartDiffers(bars, rows, measure, dimension, group) {
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
export async function topDiffers(page, name) {
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
export async function waitForDeclared(page) {
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
