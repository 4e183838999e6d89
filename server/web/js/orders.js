/* Orders: the list by client, shift and dates; refunds (to the balance, in
 * cash or to a card) and extra charges, with their permission; every cash
 * payout, and any amount over the club's threshold, confirmed first. */
import { api, qs } from './api.js';
import { dayStart, pager } from './report-tools.js';
import { can, overThreshold } from './state.js';
import {
  $, InputError, clear, confirmGate, field, fmtMoney, h, num, onSubmit, parseId, parseMoney, setOk, table, td, timeEl,
} from './util.js';

const KIND_LABEL = { top_up: 'top-up', purchase: 'tariff sale', refund: 'refund', extra_charge: 'extra charge' };
const REFUNDABLE = ['top_up', 'purchase', 'extra_charge'];
const named = (name, id) => (id == null ? '—' : [name || '', ' ', h('span', { class: 'muted' }, `#${id}`)]);

/** The refund form of one order, under its row. */
function refundForm(o, done) {
  const left = o.money - o.refunded;
  const amount = h('input', { id: 'refund-amount', inputmode: 'decimal', autocomplete: 'off', value: (left / 100).toFixed(2) });
  const methods = o.kind === 'top_up' ? ['cash', 'card'] : ['balance', 'cash', 'card'];
  const method = h('select', { id: 'refund-method' }, methods.map((m) => h('option', { value: m }, m === 'balance' ? 'to the balance' : m)));
  const reason = h('input', { id: 'refund-reason', maxlength: '500', autocomplete: 'off', placeholder: 'required' });
  const form = h('form', { id: 'refund-form', class: 'pane-form', novalidate: true },
    h('h3', null, `Refund order #${o.id} (${fmtMoney(left)} left)`),
    h('div', { class: 'row' }, field('Amount', amount), field('Method', method), field('Reason', reason)),
    h('div', { class: 'row' }, h('button', { id: 'refund-submit', type: 'submit', class: 'danger' }, 'Refund'),
      h('button', { type: 'button', onclick: () => done(false) }, 'Back')));
  const gate = confirmGate(form);
  onSubmit(form, async () => {
    const value = parseMoney(amount.value, 'amount');
    if (!value) throw new InputError('amount: enter the amount to refund');
    if (!reason.value.trim()) throw new InputError('reason: say why the money goes back');
    if ((method.value === 'cash' || overThreshold(value))
      && gate.ask(`${value}|${method.value}`, method.value === 'cash'
        ? `Pay out ${fmtMoney(value)} in cash from the till?`
        : `Refund ${fmtMoney(value)} (${method.value})? That is more than usual.`)) return;
    await api.post(`/orders/${o.id}/refund`, { amount: value, method: method.value, reason: reason.value.trim() });
    done(true, `Refunded ${fmtMoney(value)} (${method.value}) on order #${o.id}.`);
  });
  return { form, focus: amount };
}

const ordersView = {
  pages: null,
  run: null,

  init() {
    this.pages = pager(100, (list, controls) => this.render(list, controls));
    this.run = onSubmit($('#orders-filter'), () => this.load());
    this.initCharge();
  },

  show() {
    $('#orders-charge').hidden = !can('OrderRefund');
    this.run();
  },

  reset() {
    clear($('#orders-list'));
    clear($('#orders-pager'));
  },

  async load() {
    const params = {
      client_id: parseId($('#orders-client').value, 'client_id'),
      shift_id: parseId($('#orders-shift').value, 'shift_id'),
      from: dayStart($('#orders-from').value),
      to: dayStart($('#orders-to').value, 1),
    };
    await this.pages.first((before) => '/orders' + qs({ ...params, limit: this.pages.size, before_id: before }));
  },

  render(list, controls) {
    const refunds = can('OrderRefund');
    const rows = [];
    for (const o of list) {
      const left = o.money - o.refunded;
      const action = refunds && REFUNDABLE.includes(o.kind) && left > 0
        ? h('button', { type: 'button', class: 'link refund-open', onclick: (e) => this.openRefund(o, e.target.closest('tr')) }, 'Refund…')
        : null;
      rows.push(h('tr', { 'data-order-id': o.id },
        num(o.id), td(timeEl(o.at)), td(named(o.client_name, o.client_id)), td(named(o.operator_login, o.operator_id)),
        td(KIND_LABEL[o.kind] || o.kind), td(o.method || '—'), td(o.lines.map((l) => l.description).join('; ')),
        num(fmtMoney(o.money)), num(o.bonus ? fmtMoney(o.bonus) : '—'), num(o.refunded ? fmtMoney(o.refunded) : '—'),
        num(o.shift_id != null ? `#${o.shift_id}` : '—'), td(action)));
    }
    clear($('#orders-list'), table(['#', 'Time', 'Client', 'Operator', 'Kind', 'Method', 'For', 'Money', 'Bonus', 'Refunded', 'Shift', ''], rows, 'No orders match.'));
    clear($('#orders-pager'), controls);
  },

  openRefund(o, row) {
    for (const old of document.querySelectorAll('#orders-list tr.refund-row')) old.remove();
    const slot = h('td', { colspan: 12 });
    const tr = h('tr', { class: 'refund-row' }, slot);
    row.after(tr);
    const { form, focus } = refundForm(o, async (changed, message) => {
      tr.remove();
      if (changed) {
        await this.pages.show();
        setOk($('#orders-filter'), message);
      }
    });
    clear(slot, form);
    focus.focus();
  },

  /** An extra charge on a client's balance (a price change after the end). */
  initCharge() {
    const client = h('input', { id: 'charge-client', inputmode: 'numeric', size: 6, autocomplete: 'off' });
    const session = h('input', { id: 'charge-session', inputmode: 'numeric', size: 6, autocomplete: 'off', placeholder: 'optional' });
    const amount = h('input', { id: 'charge-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
    const reason = h('input', { id: 'charge-reason', maxlength: '500', autocomplete: 'off', placeholder: 'required' });
    const form = h('form', { id: 'charge-form', class: 'toolbar', novalidate: true },
      h('h3', null, 'Extra charge'),
      field('Client id', client), field('Session id', session), field('Amount', amount), field('Reason', reason),
      h('button', { id: 'charge-submit', type: 'submit' }, 'Charge'));
    const gate = confirmGate(form);
    onSubmit(form, async () => {
      const value = parseMoney(amount.value, 'amount');
      if (!value) throw new InputError('amount: enter the amount to charge');
      const clientId = parseId(client.value, 'client_id');
      if (clientId == null) throw new InputError('client_id: whose balance is charged');
      if (!reason.value.trim()) throw new InputError('reason: say what the charge is for');
      if (overThreshold(value) && gate.ask(`${clientId}|${value}`, `Charge ${fmtMoney(value)} to client #${clientId}? That is more than usual.`)) return;
      const o = await api.post('/orders/extra-charges', {
        client_id: clientId, session_id: parseId(session.value, 'session_id'), amount: value, reason: reason.value.trim(),
      });
      amount.value = '';
      reason.value = '';
      setOk(form, `Charged ${fmtMoney(o.money)} to ${o.client_name} (order #${o.id}).`);
      await this.pages.show();
    });
    clear($('#orders-charge'), form);
  },
};

export { ordersView, refundForm };
