// The dashboard's panels of the declared kinds: a panel per kind with an
// aggregate section (the orders, and each kind in the API's
// MILLRACE_KINDS_DIR), built from GET /v1/views: this hour's and today's
// records and amount (the columns its declaration names), and its top
// products and categories when its lines name a product. Ids are
// <aggregate>-today-<records_as> and so on, with - for _. The declared
// views' panels (declared.js) are built from the same list, read again when
// a snapshot brings other views. Imported by app.js.
import { declaredPanel, declaredViews, renderDeclared } from './declared.js';
import { $, el, fillBody, headRow, numCell, productCell, scrollTable, show } from './dom.js';
import { isKnown } from './format.js';
import { viewRows } from './state.js';
import { ACCESS_URL } from './stream.js';

const title = (text) => text.charAt(0).toUpperCase() + text.slice(1).replaceAll('_', ' ');

// The kinds' panels and the declared views', once GET /v1/views answered
// (null before), and the views of the snapshot they were built for.
let kindPanels = null;
let declaredPanels = null;
let listedFor = null;
let listing = null; // the snapshot's views whose list is being read

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

// Reads the list of views and builds the panels, for the first snapshot
// and again for one with other views (the API started again with another
// declaration: a view added, changed or removed), keeping the selectors'
// choices of the views still there. `names`: the snapshot's views.
export function loadKinds(names) {
  const key = [...names].sort().join(' ');
  if (key === listedFor) {
    listing = null; // a list being read for other views is not this one's
    return;
  }
  if (key === listing) return;
  listing = key;
  const done = () => {
    if (listing === key) listing = null;
  };
  fetch(ACCESS_URL, { cache: 'no-store', credentials: 'same-origin' })
    .then((response) => (response.ok ? response.json() : null))
    .then((list) => {
      // Unread (tried again with the next snapshot), or a newer snapshot's.
      if (!list || listing !== key) return;
      listedFor = key;
      const views = Array.isArray(list.views) ? list.views : [];
      kindPanels = kindsOf(views);
      $('kind-panels').replaceChildren(...kindPanels.map(kindPanel));
      const before = new Map((declaredPanels || []).map((p) => [p.name, p]));
      declaredPanels = declaredViews(views);
      for (const p of declaredPanels) {
        const kept = before.get(p.name);
        if (!kept) continue;
        if (p.measures.some((m) => m.name === kept.measure)) p.measure = kept.measure;
        p.group = kept.group;
      }
      $('declared-panels').replaceChildren(...declaredPanels.map(declaredPanel));
      renderKinds();
    })
    .then(done, done);
}

export function renderKinds() {
  for (const k of kindPanels || []) renderKind(k);
  for (const p of declaredPanels || []) renderDeclared(p);
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
