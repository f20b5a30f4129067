// What the server sent, which every panel reads: the views' rows as they
// came, the latest health and the server's clock. Imported by app.js,
// kinds.js, declared.js and fill.js.

export const state = {
  views: {}, // view name -> {rows: [...], fill?} as the server sent it
  health: null,
  serverNow: null, // Date of the latest `at` the server sent
};

export const viewRows = (name) => {
  const view = state.views[name];
  return view && Array.isArray(view.rows) ? view.rows : null;
};

// A declared view's fill (docs/api.md, "A declared view not filled yet"):
// undefined while the view is unknown, null once the body says no fill (a
// filled view's has none), else its `fill` member ({state, offsets_read,
// offsets}).
export const viewFill = (name) => {
  const view = state.views[name];
  if (!view || !Array.isArray(view.rows)) return undefined;
  return view.fill && typeof view.fill === 'object' ? view.fill : null;
};
