// The dashboard's DOM helpers: elements, SVG, values shown with their
// server digits in data-value, and tables (scrolling ones with their head,
// bodies, row headers). Imported by app.js, kinds.js, stream.js and charts.js.
import { formatters, isKnown } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

// ---- DOM helpers ----------------------------------------------------------

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// Shows a value (or "—" when unknown) and keeps the server's digits in
// data-value for machines.
export function show(node, value, kind) {
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
export const numCell = (value, kind, attrs) =>
  show(el('td', Object.assign({ class: 'num' }, attrs)), value, kind);

export function fillBody(table, rows, columns, emptyText) {
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
export const fillList = (id, list, columns, emptyText, row) =>
  fillBody($(id), Array.isArray(list) ? list.map(row) : null, columns, emptyText);

// A row header naming a consumer group, with its topic beneath.
export const groupCell = (group, topic) =>
  el(
    'th',
    { scope: 'row', class: 'group' },
    el('span', { class: 'name' }, group),
    el('span', { class: 'detail' }, topic)
  );

// A product's row header: its catalog name (`unnamed` when the catalog has
// none) and, beneath, its brand and `id`.
export function productCell(r, unnamed, id) {
  const named = isKnown(r.name);
  return el(
    'th',
    { scope: 'row' },
    el('span', { class: named ? 'name' : 'name unknown' }, named ? r.name : unnamed),
    el('span', { class: 'detail' }, `${isKnown(r.brand) ? `${r.brand} · ` : ''}${id}`)
  );
}

// A table's head: a column per [text, numeric].
export function headRow(...names) {
  return el(
    'thead',
    {},
    el(
      'tr',
      {},
      ...names.map(([text, numeric]) => el('th', { scope: 'col', class: numeric ? 'num' : null }, text))
    )
  );
}

// A scrolling table with its caption, head and an empty body (columns
// wide), as the kinds' panels and the store's products and categories have.
export function scrollTable(id, caption, head, columns, captionId = `${id}-caption`) {
  return el(
    'div',
    { class: 'table-scroll', role: 'region', 'aria-labelledby': captionId, tabindex: '0' },
    el(
      'table',
      { id },
      el('caption', { id: captionId }, caption),
      head,
      el('tbody', {}, el('tr', {}, el('td', { colspan: columns }, '—')))
    )
  );
}
