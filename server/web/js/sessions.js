/* The sessions report. */
import { api, qs } from './api.js';
import { showView } from './main.js';
import { correctionsTable, receiptBlock, segmentsTable } from './session-blocks.js';
import { changeCell, dayStart, downloadCsv, pager } from './report-tools.js';
import { can, deviceName, state } from './state.js';
import { $, $$, InputError, byName, clear, clickableRow, fmtMoney, h, jsonCell, kv, num, onSubmit, parseId, setError, setOptions, statusChip, table, td, timeEl } from './util.js';

/** A name with its id beside it, muted: "ada #2". */
const named = (name, id) => (id == null ? '—' : [name || '', ' ', h('span', { class: 'muted' }, `#${id}`)]);

function auditTable(list) {
  return table(['Time', 'Who', 'Kind', 'Session', 'PC', 'Client', 'Reason', 'Change'],
    list.map((a) => h('tr', { 'data-audit-id': a.id },
      td(timeEl(a.at)), td(a.operator_id != null ? named(a.operator_login, a.operator_id) : a.actor), td(h('code', null, a.kind)),
      num(a.session_id != null
        ? h('button', { type: 'button', class: 'link', onclick: () => sessionsView.openFromElsewhere(a.session_id) }, `#${a.session_id}`)
        : '—'),
      td(named(a.device_name, a.device_id)),
      td(named(a.client_name, a.client_id)),
      td(a.reason || ''),
      td([changeCell(a.before, a.after), h('details', { class: 'json raw' }, h('summary', null, 'raw'), jsonCell(a.before), ' → ', jsonCell(a.after))]))),
    'No audit entries.');
}

const sessionsView = {
  list: [],
  currentId: null,
  run: null,

  pages: null,
  selected: new Set(),

  init() {
    this.pages = pager(100, (list, controls) => this.render(list, controls));
    this.run = onSubmit($('#sessions-filter'), () => this.load());
    $('#sessions-status').addEventListener('change', () => this.run());
    $('#sessions-device').addEventListener('change', () => this.run());
    $('#sessions-csv').addEventListener('click', async (e) => {
      try {
        await downloadCsv('/sessions.csv' + qs(this.params()), 'sessions.csv');
      } catch (err) {
        setError($('#sessions-filter'), err);
      }
    });
  },

  show() {
    this.fillDevices();
    this.run();
  },

  reset() {
    this.list = [];
    this.currentId = null;
    clear($('#sessions-list'));
    const box = $('#session-detail');
    clear(box);
    box.hidden = true;
  },

  fillDevices() {
    const select = $('#sessions-device');
    setOptions(select, [h('option', { value: '' }, 'all PCs'),
      [...state.devices.values()].sort(byName).map((d) => h('option', { value: d.id }, d.name))]);
  },

  /** The filters as the API takes them (From and To are local days). */
  params() {
    return {
      status: $('#sessions-status').value,
      client_id: parseId($('#sessions-client').value, 'client_id'),
      device_id: $('#sessions-device').value,
      from: dayStart($('#sessions-from').value),
      to: dayStart($('#sessions-to').value, 1),
    };
  },

  async load() {
    const params = this.params();
    this.selected.clear();
    await this.pages.first((before) => '/sessions' + qs({ ...params, limit: this.pages.size, before_id: before }));
  },

  render(list, controls) {
    this.list = list;
    const canCancel = can('SessionDelete');
    const rows = list.map((s) => {
      const tick = canCancel && s.actions && s.actions.cancel
        ? h('input', { type: 'checkbox', class: 'bulk-pick', 'aria-label': `Select session ${s.id}`, checked: this.selected.has(s.id),
          onclick: (e) => e.stopPropagation(),
          onchange: (e) => { if (e.target.checked) this.selected.add(s.id); else this.selected.delete(s.id); this.renderBulk(); } })
        : null;
      return clickableRow(
        { 'data-session-id': s.id, class: s.id === this.currentId ? 'selected' : null },
        () => this.open(s.id),
        td(tick), num(s.id), td(s.client_name), td(s.device_name || deviceName(s.device_id)), td(statusChip(s.status)),
        td(timeEl(s.planned_start_at)), td(timeEl(s.actual_start_at)),
        td(timeEl(s.actual_end_at || s.cancelled_at)),
        num(s.receipt ? fmtMoney(s.receipt.total) : '—'));
    });
    clear($('#sessions-list'), table(['', '#', 'Client', 'PC', 'Status', 'Planned start', 'Started', 'Ended / cancelled', 'Total'], rows, 'No sessions match.'));
    clear($('#sessions-pager'), controls);
    this.renderBulk();
  },

  /** Cancel the ticked sessions: each on its own, with its result. */
  renderBulk(results) {
    const box = $('#sessions-bulk');
    box.hidden = !this.selected.size && !results;
    if (box.hidden) return clear(box);
    const reason = h('input', { id: 'bulk-reason', maxlength: '500', autocomplete: 'off', placeholder: 'reason (required)' });
    const form = h('form', { id: 'bulk-form', class: 'row', novalidate: true },
      h('span', null, `${this.selected.size} selected`), reason,
      h('button', { id: 'bulk-cancel-submit', type: 'submit', class: 'danger', disabled: !this.selected.size }, 'Cancel selected'));
    onSubmit(form, async () => {
      if (!reason.value.trim()) throw new InputError('reason: say why these sessions are cancelled');
      const res = await api.post('/sessions/bulk-cancel', { session_ids: [...this.selected], reason: reason.value.trim() });
      this.selected.clear();
      await this.pages.show();
      this.renderBulk(res);
    });
    const done = results ? results.filter((r) => r.ok).length : 0;
    const refused = results ? results.filter((r) => !r.ok) : [];
    clear(box, form, results ? h('p', { id: 'bulk-result', class: 'note' }, `${done} cancelled`,
      refused.length ? `; refused: ${refused.map((r) => `#${r.session_id} (${r.error ? r.error.message : 'error'})`).join(', ')}` : '', '.') : null);
  },

  openFromElsewhere(id) {
    showView('sessions');
    this.open(id);
  },

  async open(id) {
    const box = $('#session-detail');
    box.hidden = false;
    try {
      const v = await api.get(`/sessions/${id}`);
      this.currentId = id;
      clear(box, this.detail(v));
      for (const tr of $$('#sessions-list tr[data-session-id]')) tr.classList.toggle('selected', tr.dataset.sessionId === String(id));
    } catch (err) {
      setError(box, err);
    }
  },

  detail(v) {
    const closeBtn = h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', title: 'Close', onclick: () => {
      const box = $('#session-detail');
      clear(box);
      box.hidden = true;
      this.currentId = null;
    } }, '×');
    return [
      h('header', { class: 'detail-head' }, h('h2', null, `Session #${v.id} `, statusChip(v.status)), closeBtn),
      kv([
        ['Client', `${v.client_name} (#${v.client_id})`],
        ['PC', v.device_name || deviceName(v.device_id)],
        ['Planned start', timeEl(v.planned_start_at)],
        ['Started', timeEl(v.actual_start_at)],
        ['Ends at', timeEl(v.ends_at)],
        ['Ended', timeEl(v.actual_end_at)],
        v.end_kind ? ['End kind', v.end_kind] : null,
        v.cancelled_at ? ['Cancelled', [timeEl(v.cancelled_at), v.cancelled_by != null ? [' by ', named(v.cancelled_by_login, v.cancelled_by)] : '']] : null,
      ]),
      h('h3', null, 'Segments'), segmentsTable(v.segments),
      h('h3', null, 'Bindings'),
      table(['PC', 'Planned', 'Started', 'Ended'], v.bindings.map((b) => h('tr', null,
        td(deviceName(b.device_id)), td(timeEl(b.planned_start_at)), td(timeEl(b.actual_start_at)), td(timeEl(b.actual_end_at))))),
      h('h3', null, 'Price corrections'), correctionsTable(v.price_corrections),
      h('h3', null, 'Receipt'), v.receipt ? receiptBlock(v.receipt) : h('p', { class: 'muted' }, 'No receipt (not ended).'),
      h('h3', null, 'Audit'), h('div', { class: 'scroll-x' }, auditTable(v.audit || [])),
    ];
  },
};

export { auditTable, sessionsView };
