/* Tools the reports share: an audit entry's change as readable text (money
 * in units, durations as time), date filters, CSV downloads, pages. */
import { api } from './api.js';
import { state } from './state.js';
import { ApiError, fmtDateTime, fmtDuration, fmtMoney, h } from './util.js';

/** Keys whose numbers are money (minor units) or durations (seconds). */
const MONEY_KEY = /(^|_)(balance|amount|price|price_paid|value_remaining|delta|bonus|money|cash|total|burned|refunded|credited|corrections|charged|returned|difference)$/;
const SECONDS_KEY = /seconds/;

function flatten(v, prefix, out) {
  if (v && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [`${prefix}[${i}]`, x]) : Object.entries(v).map(([k, x]) => [prefix ? `${prefix}.${k}` : k, x]);
    for (const [k, x] of entries) flatten(x, k, out);
  } else if (prefix) {
    out[prefix] = v;
  }
  return out;
}

function valueText(key, v) {
  if (v == null) return '—';
  if (typeof v === 'number') {
    const leaf = key.split('.').pop().replace(/\[\d+\]$/, '');
    if (MONEY_KEY.test(leaf)) return fmtMoney(v);
    if (SECONDS_KEY.test(leaf)) return fmtDuration(v);
  }
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return fmtDateTime(v);
  return String(v);
}

/** "balance: 10.00 → 15.00", one line per value that changed. */
function changeLines(before, after) {
  const b = flatten(before, '', {});
  const a = flatten(after, '', {});
  // Statuses first; a value that is empty on both sides says nothing.
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => b[k] !== a[k] && (b[k] != null || a[k] != null))
    .sort((x, y) => Number(/status$/.test(y)) - Number(/status$/.test(x)));
  return keys.map((k) => {
    if (k in b && k in a) return `${k}: ${valueText(k, b[k])} → ${valueText(k, a[k])}`;
    if (k in a) return `${k}: ${valueText(k, a[k])}`;
    return `${k}: ${valueText(k, b[k])} → —`;
  });
}

/** An audit entry's change, readable: the first lines, the rest folded. */
function changeCell(before, after) {
  const lines = changeLines(before, after);
  if (!lines.length) return h('span', { class: 'muted' }, '—');
  const shown = h('ul', { class: 'change' }, lines.slice(0, 4).map((l) => h('li', null, l)));
  if (lines.length <= 4) return shown;
  return [shown, h('details', { class: 'change' }, h('summary', null, `${lines.length - 4} more`),
    h('ul', { class: 'change' }, lines.slice(4).map((l) => h('li', null, l))))];
}

/** A date input's day as the instant its local midnight is. */
function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/** Downloads an API CSV with the operator's token, as a file. */
async function downloadCsv(path, filename) {
  const res = await fetch('/api/v1' + path, { headers: { authorization: `Bearer ${state.token}` } });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).error.message; } catch (_) { /* keep the status */ }
    throw new ApiError(res.status, 'csv', message);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Pages through a list newest first: `load(before_id)` answers a page; the
 * pager keeps where it is and offers Newer and Older.
 */
function pager(size, onPage) {
  const stack = [];
  let current = null;
  const p = {
    size,
    async first(load) {
      stack.length = 0;
      p.load = load;
      current = null;
      await p.show();
    },
    async show() {
      const list = await api.get(p.load(current));
      onPage(list, p.controls(list));
    },
    controls(list) {
      const older = list.length === size
        ? h('button', { type: 'button', class: 'page-older', onclick: () => { stack.push(current); current = list[list.length - 1].id ?? list[list.length - 1].shift_id; p.show(); } }, 'Older')
        : null;
      const newer = stack.length
        ? h('button', { type: 'button', class: 'page-newer', onclick: () => { current = stack.pop(); p.show(); } }, 'Newer')
        : null;
      return h('div', { class: 'row pager' }, newer, older,
        h('span', { class: 'muted' }, `page ${stack.length + 1} · ${list.length} shown`));
    },
  };
  return p;
}

export { changeCell, changeLines, dayStart, downloadCsv, pager };
