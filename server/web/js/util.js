/* Constants, DOM helpers, and formatting: money in integer minor units, times local HH:MM. */
const TOKEN_KEY = 'clubhall.token';
const OPERATOR_KEY = 'clubhall.operator';
const PERMISSIONS = [
  'SessionCreate', 'SessionStart', 'SessionEnd', 'SessionDelete', 'SessionEdit',
  'ClientManage', 'BalanceTopUp', 'TariffManage', 'DeviceManage', 'RoleManage',
  'ReportView', 'OrderRefund', 'ShiftManage',
];
const LIVE_STATUSES = ['PENDING', 'ACTIVE', 'STARTED'];
const STATUS_RANK = { PENDING: 0, ACTIVE: 1, STARTED: 2, ENDED: 3, CANCELLED: 3 };
const STATES = ['free', 'reserved', 'waiting', 'playing', 'ending', 'offline'];
const ENDING_MS = 5 * 60 * 1000;
const POLL_MS = 5000;
const POLICY_LABEL = { keep_balance: 'keep balance', convert_to_bonus: 'convert to bonus', burn: 'burn' };

// ===================================================================
// helpers
// ===================================================================
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const DOM_PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'open']);

/** Builds an element. Strings and numbers among children become text nodes. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  append(el, children);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (typeof v === 'function' && k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (DOM_PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

/** Appends children: one node or text, or any nesting of arrays of them. */
function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Sets a select's options, reusing the option elements whose value stays
 * (so a choice, and any reference to it, survives a refresh); keeps the choice.
 */
function setOptions(select, options) {
  const keep = select.value;
  const key = (o) => `${o.value}\u0001${o.disabled}`;
  const existing = new Map(Array.from(select.options).map((o) => [key(o), o]));
  options.flat(Infinity).filter(Boolean).forEach((o, i) => {
    let el = existing.get(key(o));
    if (el) {
      existing.delete(key(o));
      if (el.textContent !== o.textContent) el.textContent = o.textContent;
    } else {
      el = o;
    }
    if (select.options[i] !== el) select.insertBefore(el, select.options[i] || null);
  });
  for (const o of existing.values()) o.remove();
  if (Array.from(select.options).some((o) => o.value === keep && !o.disabled)) select.value = keep;
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true });

class InputError extends Error {}
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One message line (class "error" or "ok") as a direct child of `box`; null clears it. */
function setMsg(box, text, kind = 'error') {
  for (const old of $$(':scope > .error, :scope > .ok', box)) old.remove();
  if (!text) return;
  box.append(h('p', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, text));
}
const setError = (box, err) => setMsg(box, err ? err.message || String(err) : null, 'error');
const setOk = (box, text) => setMsg(box, text, 'ok');

/** Wires a form's submit to `fn`, showing any error inside the form. Returns a runner. */
function onSubmit(form, fn) {
  const run = async () => {
    const btn = form.querySelector('button[type=submit]');
    setMsg(form, null);
    if (btn) btn.disabled = true;
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setMsg(form, labelled(form, err.message || String(err)));
    } finally {
      if (btn) btn.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  return run;
}

/**
 * An error about a field ("bonus_amount: is over the cap") as the form
 * labels that field ("Bonus to spend: is over the cap"): the control whose
 * `data-field`, or whose id without its form's prefix, names the field.
 */
function labelled(form, message) {
  const m = /^([a-z][a-z_]*): ([\s\S]*)$/.exec(message);
  if (!m) return message;
  const [, name, rest] = m;
  const key = (id) => id.replace(/^[a-z]+-/, '').replace(/-/g, '_');
  const control = $$('input, select, textarea', form).find((c) =>
    c.dataset.field === name || (c.id && [name, name.replace(/_id$/, '')].includes(key(c.id))));
  const label = control && control.closest('label');
  const text = label && [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').trim();
  return text ? `${text}: ${rest}` : message;
}

function field(label, control, hint) {
  return h('label', { class: 'field' }, label, control, hint ? h('small', { class: 'hint' }, hint) : null);
}

const td = (content, cls) => h('td', cls ? { class: cls } : null, content);
const num = (content) => td(content, 'num');

function table(headers, rows, empty = 'Nothing here.') {
  const head = headers.map((x) => (x instanceof Node ? x : h('th', null, x)));
  const body = rows.length ? rows : h('tr', null, h('td', { class: 'muted', colspan: headers.length }, empty));
  return h('table', { class: 'grid' }, h('thead', null, h('tr', null, head)), h('tbody', null, body));
}

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function backButton(onBack) {
  return h('button', { type: 'button', onclick: onBack }, 'Back');
}

function clickableRow(props, onOpen, ...cells) {
  return h('tr', {
    ...props,
    class: 'clickable' + (props.class ? ' ' + props.class : ''),
    tabindex: '0',
    onclick: onOpen,
    onkeydown: (e) => { if (e.key === 'Enter') onOpen(); },
  }, cells);
}

function parseId(text, name) {
  const t = String(text ?? '').trim();
  if (!t) return null;
  if (!/^\d+$/.test(t)) throw new InputError(`${name}: enter a whole number`);
  return Number(t);
}

// ===================================================================
// formatting: money in integer minor units, times local HH:MM
// ===================================================================
const pad2 = (n) => String(n).padStart(2, '0');

function fmtMoney(m) {
  if (m == null) return '—';
  const a = Math.abs(m);
  return (m < 0 ? '-' : '') + Math.floor(a / 100) + '.' + pad2(a % 100);
}
const fmtSigned = (m) => (m > 0 ? '+' : '') + fmtMoney(m);

/** "150", "150.5", "150.50", "-20.00" -> integer minor units; blank -> null. */
function parseMoney(text, name, signed = false) {
  const t = String(text ?? '').trim().replace(/\s+/g, '');
  if (t === '') return null;
  const m = /^([+-])?(\d{1,12})(?:[.,](\d{1,2}))?$/.exec(t);
  if (!m || (m[1] === '-' && !signed)) {
    throw new InputError(`${name}: enter an amount in units with up to 2 decimals, e.g. ${signed ? '-20.00' : '150.00'}`);
  }
  const minor = Number(m[2]) * 100 + Number((m[3] || '').padEnd(2, '0'));
  return m[1] === '-' ? -minor : minor;
}

function parseCount(text, name, max) {
  const t = String(text ?? '').trim().replace(/%$/, '');
  if (t === '') return null;
  if (!/^\d+$/.test(t) || (max != null && Number(t) > max)) {
    throw new InputError(`${name}: enter a whole number${max != null ? ` from 0 to ${max}` : ''}, or leave it blank`);
  }
  return Number(t);
}

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (d.toDateString() === new Date().toDateString()) return fmtTime(iso);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${fmtTime(iso)}`;
}

function timeEl(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, fmtDateTime(iso));
}

/** mm:ss below an hour, h:mm:ss above. */
function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return hh ? `${hh}:${pad2(mm)}:${pad2(ss)}` : `${pad2(mm)}:${pad2(ss)}`;
}

function fmtDuration(sec) {
  if (sec == null) return '—';
  const s = Math.max(0, Math.round(sec));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (hh) return `${hh}h ${pad2(mm)}m`;
  if (mm) return ss ? `${mm}m ${pad2(ss)}s` : `${mm}m`;
  return `${ss}s`;
}

const gib = (bytes) => (bytes / 1073741824).toFixed(1);
const metricsText = (m) => `CPU ${Math.round(m.cpu_percent)}% · RAM ${gib(m.memory_used)}/${gib(m.memory_total)} GiB`;
const minuteOfDay = (m) => `${pad2(Math.floor(m / 60))}:${pad2(m % 60)}`;

const chip = (kind, text) => h('span', { class: 'chip chip-' + kind }, text);
const statusChip = (status) => h('span', { class: 'chip status-' + String(status).toLowerCase() }, status);

function jsonCell(v) {
  if (v == null) return h('span', { class: 'muted' }, '—');
  const compact = JSON.stringify(v);
  if (compact.length <= 48) return h('code', { class: 'json' }, compact);
  return h('details', { class: 'json' },
    h('summary', { title: 'Show all' }, h('code', null, compact.slice(0, 46) + '…')),
    h('pre', null, JSON.stringify(v, null, 2)));
}


/** Prints `el` alone: the print stylesheet hides everything else. */
function printOnly(el) {
  for (const other of $$('.printing')) other.classList.remove('printing');
  el.classList.add('printing');
  document.body.classList.add('print-one');
  window.print();
  document.body.classList.remove('print-one');
  el.classList.remove('printing');
}


/**
 * A form's second press: `gate.ask(key, text)` answers true (stop here) the
 * first time for `key`, showing `text` beside the submit button, which then
 * reads "Confirm"; the same key again goes through. Any input resets it.
 */
function confirmGate(form) {
  const button = form.querySelector('button[type=submit]');
  const label = button.textContent;
  const note = h('p', { class: 'note confirm-note', hidden: true });
  button.before(note);
  let confirmed = null;
  const reset = () => {
    confirmed = null;
    note.hidden = true;
    button.textContent = label;
  };
  form.addEventListener('input', reset);
  form.addEventListener('change', reset);
  return {
    ask(key, text) {
      if (confirmed === key) {
        reset();
        return false;
      }
      confirmed = key;
      note.textContent = text;
      note.hidden = false;
      button.textContent = 'Confirm';
      return true;
    },
    reset,
  };
}

export { $, $$, ApiError, append, backButton, byName, chip, clear, clickableRow, confirmGate, debounce, DOM_PROPS, ENDING_MS, field, fmtCountdown, fmtDateTime, fmtDuration, fmtMoney, fmtSigned, fmtTime, gib, h, InputError, jsonCell, kv, LIVE_STATUSES, metricsText, minuteOfDay, num, onSubmit, OPERATOR_KEY, pad2, parseCount, parseId, parseMoney, PERMISSIONS, POLICY_LABEL, POLL_MS, printOnly, setError, setMsg, setOk, setOptions, STATES, STATUS_RANK, statusChip, table, td, timeEl, TOKEN_KEY };
