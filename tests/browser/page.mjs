// The rest of the page: its status line, the accounting panel (each group
// as SQL counts it, and the dead letters), accessibility basics and the
// layout at the page's width, and where the keyboard goes.

import { readPage } from './figures.mjs';
import { AGG_GROUP, DEADLINE_MS, DLQ, Failure, SINK_GROUP, check, sleep, sql } from './harness.mjs';

export async function waitForStatus(page, predicate, what, timeout) {
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
export async function checkAccounting(page) {
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
export async function checkPage(page, label) {
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

// The keyboard reaches the skip link first, then the scrollable tables.
export async function checkKeyboard(page) {
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
