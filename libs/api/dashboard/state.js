// What the server sent, which every panel reads: the views' rows as they
// came, the latest health and the server's clock. Imported by app.js and
// kinds.js.

export const state = {
  views: {}, // view name -> {rows: [...]} as the server sent it
  health: null,
  serverNow: null, // Date of the latest `at` the server sent
};

export const viewRows = (name) => {
  const view = state.views[name];
  return view && Array.isArray(view.rows) ? view.rows : null;
};
