// The dashboard's numbers and times: the server's digits kept exact, and
// formatted for people. Imported by app.js.

// ---- numbers ------------------------------------------------------------

// Numbers are kept as the server's digits (strings): revenue is a
// PostgreSQL numeric, and rounding its decimal digits to cents must give
// what SQL's round() gives, which a double does not always do (1.005).
export function parseJson(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value !== 'number') return value;
    return context && typeof context.source === 'string' ? context.source : String(value);
  });
}

export const isKnown = (v) => v !== null && v !== undefined && v !== '';
export const num = (v) => (isKnown(v) ? Number(v) : null);
// Intl formats a numeric string as an exact decimal, rounding half away
// from zero as PostgreSQL does.
export const moneyFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
export const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const compactFormat = new Intl.NumberFormat('en-US', {
  notation: 'compact',
  maximumFractionDigits: 1,
});
// A measure's exact digits: a whole number as one (a sum of quantities is
// numeric too), else with 2 to 6 decimals (an average keeps its scale's).
export const decimalFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 6,
});
const whole = (v) => /^-?\d+(\.0*)?$/.test(String(v));
export const formatters = {
  money: (v) => moneyFormat.format(v),
  decimal: (v) => (whole(v) ? countFormat.format(v) : decimalFormat.format(v)),
  count: (v) => countFormat.format(v),
  seconds: (v) => formatSeconds(Number(v)),
  text: (v) => String(v),
};

export function formatSeconds(s) {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export const pad2 = (n) => String(n).padStart(2, '0');
export const utcHour = (d) => `${pad2(d.getUTCHours())}:00`;
export const utcDay = (d) => d.toISOString().slice(0, 10);
export const shortDay = (d) =>
  d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
export const localTime = (d) => d.toLocaleTimeString('en-GB', { hour12: false });
