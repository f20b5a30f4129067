// The dashboard's headline figures against SQL: what the views say the page
// must show, what it shows, and waiting until the two agree; and the
// commit-to-screen delay: when the aggregator committed, when the page's
// figures last changed (recorded in the page) and its line in
// test-logs/dashboard-delay.tsv.

import fs from 'node:fs';

import { AGG_GROUP, DEADLINE_MS, LOGS, check, sleep, sql } from './harness.mjs';

export const consumed = (group) =>
  Number(sql(`SELECT coalesce(sum(consumed), 0) FROM partition_accounting WHERE group_id = '${group}'`)[0][0]);

// Waits until the aggregator has committed `total` records and returns when
// the last transaction that changed the aggregates committed, in ms since the
// epoch (the stack's PostgreSQL has track_commit_timestamp on).
export async function aggregatorCommitted(total) {
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
export function readPage(page) {
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
export function installRecorder(page) {
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
export async function waitForMatch(page, label) {
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

// The commit-to-screen delay of a phase, a line of test-logs/dashboard-delay.tsv.
// `serverMs`: of that delay, the part until millrace-api read the views it
// sent (the views event's "at"): the change feed and the API; the rest is
// the stream and the page.
// `committedAt`: the commit measured from, in its own column: the line's
// time less the delay is not it (the match is read after the page changed).
export function recordDelay(phase, events, committedAt, delayMs, serverMs) {
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
