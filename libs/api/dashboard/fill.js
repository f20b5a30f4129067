// A declared view's fill state on its panel. A view added or changed once
// its kind's records were folded is filled from them beside the aggregator
// (docs/views.md, "Adding, changing or removing a view"); until then its
// rows hold only some records. The stream carries the state in the view's
// body (`fill`: unfilled, or filling with the offsets read of those to
// read; none once filled). The panel says it in words, shows the
// progress, and its figures say they are partial. Imported by declared.js.
import { $, el } from './dom.js';
import { countFormat, isKnown, num } from './format.js';
import { viewFill } from './state.js';

// What the page knows of a view's fill: `state` is unknown (no body yet),
// unfilled, filling or filled (or another state the server names: not
// filled either); `partial` says its figures lack records; `read` and
// `total` are the server's digits, when it sent them.
export function fillOf(name) {
  const fill = viewFill(name);
  if (fill === undefined) return { state: 'unknown', partial: false };
  if (fill === null) return { state: 'filled', partial: false };
  return {
    state: isKnown(fill.state) ? String(fill.state) : 'unfilled',
    partial: true,
    read: isKnown(fill.offsets_read) ? fill.offsets_read : null,
    total: isKnown(fill.offsets) ? fill.offsets : null,
  };
}

// Said after a partial chart's title or table's caption.
export function partialSuffix(f) {
  if (!f.partial) return '';
  return f.state === 'filling' ? ' (partial: being filled)' : ' (partial: not filled yet)';
}

// The panel's line for it, under its description.
export const fillLine = (p) =>
  el('p', { id: `${p.id}-fill`, class: 'note fill', 'data-fill': 'unknown' }, 'Fill: —');

// " 1,200 of 3,468 offsets read (34 %)." and a bar, when the server sent both.
function progress(p, f) {
  const read = num(f.read);
  const total = num(f.total);
  if (read === null || total === null || total <= 0) return { said: '', bar: [] };
  // Floored: 100 % only once every offset is read.
  const percent = Math.floor((Math.min(read, total) / total) * 100);
  return {
    said: ` ${countFormat.format(f.read)} of ${countFormat.format(f.total)} offsets read (${percent} %).`,
    bar: [
      el('progress', {
        value: String(Math.min(read, total)),
        max: String(total),
        'aria-label': `Fill of ${p.name}: ${percent} %`,
      }),
    ],
  };
}

// Shows the fill state of `p`'s view on its panel and returns it.
export function renderFill(p) {
  const f = fillOf(p.name);
  const line = $(`${p.id}-fill`);
  if (!line) return f;
  line.dataset.fill = f.state;
  line.classList.toggle('partial', f.partial);
  // The server's digits, for machines (as every figure's data-value).
  if (isKnown(f.read)) line.dataset.read = f.read;
  else delete line.dataset.read;
  if (isKnown(f.total)) line.dataset.total = f.total;
  else delete line.dataset.total;
  const panel = line.closest('section');
  if (panel) panel.dataset.fill = f.state;
  if (f.state === 'unknown') {
    line.replaceChildren('Fill: —');
  } else if (f.state === 'filled') {
    line.replaceChildren(el('strong', {}, 'Filled:'), ' its figures are whole.');
  } else if (f.state === 'filling') {
    const { said, bar } = progress(p, f);
    line.replaceChildren(
      el('strong', {}, '⚠ Filling:'),
      `${said} Its figures are partial until it is filled. `,
      ...bar
    );
  } else if (f.state === 'unfilled') {
    line.replaceChildren(
      el('strong', {}, '⚠ Waiting to be filled:'),
      ' its figures are partial, holding only the records folded since the view was made.'
    );
  } else {
    line.replaceChildren(el('strong', {}, `⚠ Not filled (${f.state}):`), ' its figures are partial.');
  }
  return f;
}
