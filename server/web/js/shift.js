/* Shift: the till (open with the float, X report, close with the count). */
import { api, qs } from './api.js';
import { can, clubSelect } from './state.js';
import { $, ApiError, InputError, clear, field, fmtMoney, fmtSigned, h, kv, num, onSubmit, parseMoney, table, td, timeEl, printOnly } from './util.js';

const PAYMENT_LABEL = { top_up: 'Top-ups', purchase: 'Tariff sales', refund: 'Refunds', extra_charge: 'Extra charges' };

/** An X or Z report, printable. */
function shiftReportBlock(r) {
  const diff = r.cash_difference;
  const diffText = diff == null ? '—' : diff === 0 ? 'none' : diff < 0 ? `${fmtMoney(-diff)} short` : `${fmtMoney(diff)} over`;
  return h('article', { class: 'shift-report', id: `shift-report-${r.shift_id}`, 'data-kind': r.kind, 'data-expected-cash': r.expected_cash },
    h('h2', null, `${r.kind === 'z' ? 'Z report' : 'X report (live)'} · shift #${r.shift_id}`),
    kv([
      ['Operator', r.operator_login || `#${r.operator_id}`],
      ['Opened', timeEl(r.opened_at)],
      r.closed_at ? ['Closed', timeEl(r.closed_at)] : null,
    ]),
    h('h4', null, 'Till'),
    h('table', { class: 'grid till' }, h('tbody', null,
      h('tr', null, td('Opening float'), num(fmtMoney(r.opening_cash))),
      h('tr', null, td('Cash taken'), num(fmtMoney(r.cash_in))),
      h('tr', null, td('Cash paid out'), num(fmtMoney(-r.cash_out))),
      h('tr', { class: 'total' }, td('Expected in the till'), num(h('strong', { class: 'expected-cash' }, fmtMoney(r.expected_cash)))),
      r.counted_cash != null ? h('tr', null, td('Counted'), num(h('span', { class: 'counted-cash' }, fmtMoney(r.counted_cash)))) : null,
      r.counted_cash != null ? h('tr', { class: diff ? 'difference neg' : 'difference' }, td('Difference'), num(h('strong', { class: 'cash-difference' }, diffText))) : null)),
    kv([
      ['Card taken', fmtMoney(r.card_in)],
      ['Card refunded', fmtMoney(r.card_out)],
      ['Bonus issued / spent', `${fmtMoney(r.bonus_issued)} / ${fmtMoney(r.bonus_spent)}`],
    ]),
    h('h4', null, 'Payments'),
    table(['Kind', 'Method', 'Count', 'Money', 'Bonus'], r.payments.map((p) => h('tr', null,
      td(PAYMENT_LABEL[p.kind] || p.kind), td(p.method || '—'), num(p.count), num(fmtMoney(p.money)), num(fmtMoney(p.bonus)))), 'No payments.'),
    h('h4', null, 'Price corrections'),
    table(['Session', 'Amount', 'Reason', 'At'], r.corrections.map((c) => h('tr', null,
      td(`#${c.session_id}`), num(fmtSigned(c.delta)), td(c.reason), td(timeEl(c.at)))), 'No price corrections.'),
    h('h4', null, 'Cancellations'),
    table(['Session', 'Reason', 'At'], r.cancellations.map((c) => h('tr', null,
      td(c.session_id != null ? `#${c.session_id}` : '—'), td(c.reason || '—'), td(timeEl(c.at)))), 'No cancellations.'),
    h('div', { class: 'row no-print' }, h('button', { type: 'button', class: 'print', onclick: (e) => printOnly(e.target.closest('.shift-report')) }, 'Print')));
}

const shiftView = {
  historyBefore: null,

  init() {
    $('#shift-refresh').addEventListener('click', () => this.show());
  },

  reset() {
    clear($('#shift-current'));
    clear($('#shift-history'));
  },

  async show() {
    await this.loadCurrent();
    if (can('ReportView')) await this.loadHistory(true);
  },

  async loadCurrent(closed) {
    const box = $('#shift-current');
    let current = null;
    try {
      current = await api.get('/shifts/current');
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) {
        clear(box, h('p', { class: 'error', role: 'alert' }, err.message));
        return;
      }
    }
    if (!current) {
      const club = clubSelect('shift-club', 'The club whose desk this is');
      const float = h('input', { id: 'shift-opening-cash', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
      const form = h('form', { id: 'shift-open-form', class: 'pane-form narrow', novalidate: true },
        h('h3', null, 'Open your shift'),
        h('p', { class: 'hint' }, 'Count the cash in the till first: the float is where the till starts. Cash and card payments need an open shift.'),
        field('Cash float counted', float),
        club ? field('At the desk of', club) : null,
        h('div', { class: 'row' }, h('button', { id: 'shift-open-submit', type: 'submit', class: 'primary' }, 'Open shift')));
      onSubmit(form, async () => {
        const cash = parseMoney(float.value, 'opening_cash');
        if (cash == null) throw new InputError('opening_cash: count the cash in the till (0.00 if empty)');
        const body = { opening_cash: cash };
        if (club) body.club_id = Number(club.value);
        await api.post('/shifts/open', body);
        await this.show();
      });
      clear(box, closed ? [h('p', { class: 'note' }, `Shift #${closed.shift_id} is closed.`), shiftReportBlock(closed)] : null, form);
      return;
    }
    const counted = h('input', { id: 'shift-counted-cash', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
    const submit = h('button', { id: 'shift-close-submit', type: 'submit', class: 'danger' }, 'Close shift');
    const warning = h('p', { id: 'shift-close-warning', class: 'note', hidden: true });
    const form = h('form', { id: 'shift-close-form', class: 'pane-form narrow', novalidate: true },
      h('h3', null, 'Close your shift'),
      h('p', { class: 'hint' }, `Count the cash in the till. Expected: ${fmtMoney(current.expected_cash)}.`),
      field('Cash counted', counted), warning,
      h('div', { class: 'row' }, submit));
    // A count that differs from the expected cash is confirmed first.
    let confirmed = null;
    counted.addEventListener('input', () => {
      confirmed = null;
      warning.hidden = true;
      submit.textContent = 'Close shift';
    });
    onSubmit(form, async () => {
      const cash = parseMoney(counted.value, 'counted_cash');
      if (cash == null) throw new InputError('counted_cash: count the cash in the till');
      const diff = cash - current.expected_cash;
      if (diff !== 0 && confirmed !== cash) {
        confirmed = cash;
        warning.textContent = `The till is ${fmtMoney(Math.abs(diff))} ${diff < 0 ? 'short' : 'over'}: count again, or close with this count.`;
        warning.hidden = false;
        submit.textContent = 'Close with this count';
        return;
      }
      const z = await api.post(`/shifts/${current.shift_id}/close`, { counted_cash: cash });
      await this.loadCurrent(z);
      if (can('ReportView')) await this.loadHistory(true);
    });
    clear(box, shiftReportBlock(current), form);
  },

  async loadHistory(first) {
    const box = $('#shift-history');
    if (first) this.historyBefore = null;
    const list = await api.get('/shifts' + qs({ limit: 20, before_id: this.historyBefore }));
    const rows = list.map((r) => h('tr', { class: 'clickable', onclick: () => this.openReport(r) },
      td(`#${r.shift_id}`), td(r.operator_login || `#${r.operator_id}`), td(timeEl(r.opened_at)), td(timeEl(r.closed_at)),
      num(fmtMoney(r.expected_cash)), num(r.counted_cash != null ? fmtMoney(r.counted_cash) : '—'),
      num(r.cash_difference != null ? h('span', { class: r.cash_difference < 0 ? 'neg' : r.cash_difference > 0 ? 'pos' : null }, fmtSigned(r.cash_difference)) : '—')));
    const tbl = table(['Shift', 'Operator', 'Opened', 'Closed', 'Expected', 'Counted', 'Difference'], rows, 'No shifts yet.');
    tbl.id = 'shift-list';
    const more = list.length === 20
      ? h('button', { type: 'button', id: 'shift-older', onclick: () => { this.historyBefore = list[list.length - 1].shift_id; this.loadHistory(false); } }, 'Older shifts')
      : null;
    const newer = this.historyBefore != null ? h('button', { type: 'button', onclick: () => this.loadHistory(true) }, 'Newest') : null;
    clear(box, h('h3', null, 'Shifts'), tbl, h('div', { class: 'row' }, newer, more), h('div', { id: 'shift-opened-report' }));
  },

  openReport(r) {
    clear($('#shift-opened-report'), shiftReportBlock(r));
  },
};

export { PAYMENT_LABEL, shiftReportBlock, shiftView };
