/* The sessions report. */
import { api, qs } from './api.js';
import { showView } from './main.js';
import { correctionsTable, receiptBlock, segmentsTable } from './session-blocks.js';
import { deviceName, state } from './state.js';
import { $, $$, byName, clear, clickableRow, fmtMoney, h, jsonCell, kv, num, onSubmit, parseId, setError, setOptions, statusChip, table, td, timeEl } from './util.js';

function auditTable(list) {
  return table(['Time', 'Actor', 'Operator', 'Kind', 'Session', 'PC', 'Client', 'Reason', 'Before', 'After'],
    list.map((a) => h('tr', null,
      td(timeEl(a.at)), td(a.actor), num(a.operator_id != null ? a.operator_id : '—'), td(h('code', null, a.kind)),
      num(a.session_id != null
        ? h('button', { type: 'button', class: 'link', onclick: () => sessionsView.openFromElsewhere(a.session_id) }, `#${a.session_id}`)
        : '—'),
      num(a.device_id != null ? h('span', { title: deviceName(a.device_id) }, a.device_id) : '—'),
      num(a.client_id != null ? a.client_id : '—'),
      td(a.reason || ''), td(jsonCell(a.before)), td(jsonCell(a.after)))),
    'No audit entries.');
}

const sessionsView = {
  list: [],
  currentId: null,
  run: null,

  init() {
    this.run = onSubmit($('#sessions-filter'), () => this.load());
    $('#sessions-status').addEventListener('change', () => this.run());
    $('#sessions-device').addEventListener('change', () => this.run());
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

  async load() {
    const params = {
      status: $('#sessions-status').value,
      client_id: parseId($('#sessions-client').value, 'client_id'),
      device_id: $('#sessions-device').value,
    };
    this.list = await api.get('/sessions' + qs(params));
    const rows = this.list.map((s) => clickableRow(
      { 'data-session-id': s.id, class: s.id === this.currentId ? 'selected' : null },
      () => this.open(s.id),
      num(s.id), td(s.client_name), td(deviceName(s.device_id)), td(statusChip(s.status)),
      td(timeEl(s.planned_start_at)), td(timeEl(s.actual_start_at)),
      td(timeEl(s.actual_end_at || s.cancelled_at)),
      num(s.receipt ? fmtMoney(s.receipt.total) : '—')));
    clear($('#sessions-list'), table(['#', 'Client', 'PC', 'Status', 'Planned start', 'Started', 'Ended / cancelled', 'Total'], rows, 'No sessions match.'));
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
        ['PC', deviceName(v.device_id)],
        ['Planned start', timeEl(v.planned_start_at)],
        ['Started', timeEl(v.actual_start_at)],
        ['Ends at', timeEl(v.ends_at)],
        ['Ended', timeEl(v.actual_end_at)],
        v.end_kind ? ['End kind', v.end_kind] : null,
        v.cancelled_at ? ['Cancelled', [timeEl(v.cancelled_at), v.cancelled_by != null ? ` by operator #${v.cancelled_by}` : '']] : null,
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
