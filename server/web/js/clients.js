/* Clients: search, create, top up, sell a tariff, holdings and ledger. */
import { api, qs } from './api.js';
import { showView } from './main.js';
import { can, capText, fillTariffs, loadTariffs, overThreshold, state, tariffById, tariffName } from './state.js';
import { $, $$, clear, clickableRow, confirmGate, debounce, field, fmtDuration, fmtMoney, fmtSigned, h, InputError, kv, num, onSubmit, parseMoney, setError, setMsg, setOk, table, td, timeEl } from './util.js';

const clientsView = {
  list: [],
  current: null,
  ledger: [],
  parts: null,
  req: 0,
  run: null,

  init() {
    const searchForm = $('#clients-search-form');
    this.run = onSubmit(searchForm, () => this.load());
    $('#clients-search').addEventListener('input', debounce(() => this.run(), 200));
    const createForm = $('#client-create-form');
    onSubmit(createForm, async () => {
      const body = { name: $('#client-name').value.trim(), phone: $('#client-phone').value.trim() };
      const pin = $('#client-pin').value.trim();
      if (pin) body.pin = pin;
      const created = await api.post('/clients', body);
      createForm.reset();
      setOk(createForm, `Client ${created.name} added.`);
      await this.load();
      this.open(created.id);
    });
    this.reloadSoon = debounce(() => this.reload(), 300);
  },

  show() {
    this.run();
  },

  reset() {
    this.list = [];
    this.current = null;
    this.parts = null;
    $('#clients-search').value = '';
    clear($('#clients-table tbody'));
    const box = $('#client-detail');
    clear(box);
    box.hidden = true;
  },

  async load() {
    const mine = ++this.req;
    const list = await api.get('/clients' + qs({ q: $('#clients-search').value.trim() }));
    if (mine !== this.req) return;
    this.list = list;
    clear($('#clients-table tbody'), list.length
      ? list.map((c) => this.row(c))
      : h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No clients found.')));
  },

  row(c) {
    return clickableRow({ 'data-client-id': c.id, class: this.current && this.current.id === c.id ? 'selected' : null },
      () => this.open(c.id),
      td(c.name), td(c.phone), num(fmtMoney(c.balance)), num(fmtMoney(c.bonus_balance)), td(c.auto_renewal ? 'on' : 'off'));
  },

  replaceRow(c) {
    const i = this.list.findIndex((x) => x.id === c.id);
    if (i < 0) return;
    this.list[i] = c;
    const old = $(`#clients-table tr[data-client-id="${c.id}"]`);
    if (old) old.replaceWith(this.row(c));
  },

  markRow() {
    for (const tr of $$('#clients-table tr[data-client-id]')) {
      tr.classList.toggle('selected', !!this.current && tr.dataset.clientId === String(this.current.id));
    }
  },

  openFromCard(id) {
    showView('clients');
    this.open(id);
  },

  async open(id) {
    const box = $('#client-detail');
    try {
      const [c, ledger] = await Promise.all([api.get(`/clients/${id}`), api.get(`/clients/${id}/ledger`)]);
      const same = this.current && this.current.id === id && this.parts;
      this.current = c;
      this.ledger = ledger;
      if (same) this.update();
      else this.build();
      this.replaceRow(c);
      this.markRow();
    } catch (err) {
      box.hidden = false;
      setError(box, err);
    }
  },

  async reload() {
    if (!this.current) return;
    const id = this.current.id;
    try {
      const [c, ledger] = await Promise.all([api.get(`/clients/${id}`), api.get(`/clients/${id}/ledger`)]);
      if (!this.current || this.current.id !== id) return;
      this.current = c;
      this.ledger = ledger;
      this.update();
      this.replaceRow(c);
    } catch (_) { /* keep what is shown */ }
  },

  build() {
    const c = this.current;
    const box = $('#client-detail');
    const p = (this.parts = {
      title: h('h2'),
      summary: h('div', { class: 'client-summary' }),
      holdings: h('div'),
      ledger: h('div'),
    });

    const auto = h('input', { id: 'client-auto-renewal', type: 'checkbox', checked: c.auto_renewal, disabled: !can('ClientManage') });
    const autoRow = h('div', { class: 'switch-row' },
      h('label', { class: 'switch' }, auto, h('span', null, 'Auto-renewal')),
      h('small', { class: 'hint' }, 'Renews from a matching holding when time runs out.'));
    auto.addEventListener('change', async () => {
      setMsg(autoRow, null);
      auto.disabled = true;
      try {
        this.current = await api.patch(`/clients/${c.id}`, { auto_renewal: auto.checked });
        this.update();
        this.replaceRow(this.current);
      } catch (err) {
        auto.checked = !auto.checked;
        setError(autoRow, err);
      } finally {
        auto.disabled = !can('ClientManage');
      }
    });
    p.auto = auto;

    // Editing the client (ClientManage): name, phone, a new PIN.
    let edit = null;
    if (can('ClientManage')) {
      const name = h('input', { id: 'client-edit-name', value: c.name, maxlength: '80', autocomplete: 'off' });
      const phone = h('input', { id: 'client-edit-phone', value: c.phone, autocomplete: 'off' });
      const pin = h('input', { id: 'client-edit-pin', inputmode: 'numeric', autocomplete: 'off', placeholder: 'unchanged', maxlength: '8' });
      edit = h('details', { class: 'client-edit' }, h('summary', null, 'Edit client'),
        h('form', { id: 'client-edit-form', class: 'mini-form', novalidate: true },
          h('div', { class: 'row' }, field('Name', name), field('Phone', phone), field('New PIN (4 to 8 digits)', pin)),
          h('button', { id: 'client-edit-submit', type: 'submit', class: 'primary' }, 'Save')));
      onSubmit(edit.querySelector('form'), async () => {
        const body = {};
        if (name.value.trim() !== this.current.name) body.name = name.value.trim();
        if (phone.value.trim() !== this.current.phone) body.phone = phone.value.trim();
        if (pin.value.trim()) body.pin = pin.value.trim();
        if (!Object.keys(body).length) throw new InputError('name: nothing changed');
        this.current = await api.patch(`/clients/${this.current.id}`, body);
        pin.value = '';
        phone.value = this.current.phone;
        setOk(edit.querySelector('form'), `Saved${body.pin ? ' (new PIN set)' : ''}.`);
        this.update();
        this.replaceRow(this.current);
      });
    }

    const forms = [];
    if (can('BalanceTopUp')) {
      const amount = h('input', { id: 'topup-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
      const method = h('select', { id: 'topup-method' }, h('option', { value: 'cash' }, 'cash'), h('option', { value: 'card' }, 'card'));
      const topup = h('form', { id: 'topup-form', class: 'mini-form', novalidate: true },
        h('h3', null, 'Top up'),
        h('div', { class: 'row' }, field('Amount', amount), field('Method', method), h('button', { id: 'topup-submit', type: 'submit', class: 'primary' }, 'Top up')));
      const topupGate = confirmGate(topup);
      onSubmit(topup, async () => {
        const value = parseMoney(amount.value, 'amount');
        if (!value) throw new InputError('amount: enter an amount, e.g. 50.00');
        if (overThreshold(value) && topupGate.ask(`${value}|${method.value}`, `Take ${fmtMoney(value)} (${method.value})? That is more than usual: check the amount.`)) return;
        const updated = await api.post(`/clients/${c.id}/top-ups`, { amount: value, method: method.value });
        amount.value = '';
        this.current = updated;
        setOk(topup, `Added ${fmtMoney(value)} (${method.value}). Balance ${fmtMoney(updated.balance)}.`);
        this.replaceRow(updated);
        await this.reload();
      });

      const tariff = h('select', { id: 'purchase-tariff' });
      const bonus = h('input', { id: 'purchase-bonus', 'data-field': 'bonus_amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
      const info = h('small', { class: 'hint purchase-info' });
      p.purchaseInfo = () => {
        const t = tariffById(tariff.value);
        const cur = this.current;
        info.textContent = t
          ? `Price ${fmtMoney(t.price)} · ${capText(t)} · client bonus ${fmtMoney(cur.bonus_balance)} · balance ${fmtMoney(cur.balance)}`
          : 'No tariff on sale.';
      };
      const fill = () => {
        fillTariffs(tariff);
        p.purchaseInfo();
      };
      tariff.addEventListener('change', p.purchaseInfo);
      fill();
      if (!state.tariffs.length) loadTariffs().then(fill).catch(() => {});
      const pay = h('select', { id: 'purchase-pay' },
        h('option', { value: '' }, 'the balance'), h('option', { value: 'cash' }, 'cash now'), h('option', { value: 'card' }, 'card now'));
      const purchase = h('form', { id: 'purchase-form', class: 'mini-form', novalidate: true },
        h('h3', null, 'Sell a tariff'),
        field('Tariff', tariff),
        h('div', { class: 'row' }, field('Bonus to spend', bonus), field('Paid from', pay), h('button', { id: 'purchase-submit', type: 'submit', class: 'primary' }, 'Sell')),
        info);
      const saleGate = confirmGate(purchase);
      onSubmit(purchase, async () => {
        if (!tariff.value) throw new InputError('tariff_id: choose a tariff');
        const bonusAmount = parseMoney(bonus.value, 'bonus_amount') || 0;
        const t = tariffById(tariff.value);
        const due = t ? t.price - bonusAmount : 0;
        if (pay.value && overThreshold(due) && saleGate.ask(`${tariff.value}|${bonusAmount}|${pay.value}`, `Take ${fmtMoney(due)} (${pay.value}) for ${t.name}?`)) return;
        const holding = await api.post(`/clients/${c.id}/purchases`, {
          tariff_id: Number(tariff.value),
          bonus_amount: bonusAmount,
          pay: pay.value || null,
        });
        bonus.value = '';
        setOk(purchase, `Sold ${tariffName(holding.tariff_id)}: holding #${holding.id}.`);
        await this.reload();
      });
      forms.push(topup, purchase);
    }

    const closeBtn = h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', title: 'Close', onclick: () => this.close() }, '×');
    clear(box,
      h('header', { class: 'detail-head' }, p.title, closeBtn),
      p.summary, autoRow, edit, forms,
      h('h3', null, 'Holdings'), p.holdings,
      h('h3', null, 'Ledger'), p.ledger);
    box.hidden = false;
    this.update();
  },

  close() {
    this.current = null;
    this.parts = null;
    const box = $('#client-detail');
    clear(box);
    box.hidden = true;
    this.markRow();
  },

  update() {
    const c = this.current;
    const p = this.parts;
    if (!c || !p) return;
    p.title.textContent = c.name;
    clear(p.summary, kv([
      ['Phone', c.phone],
      ['Balance', h('strong', { class: 'client-balance' }, fmtMoney(c.balance))],
      ['Bonus', h('strong', { class: 'client-bonus' }, fmtMoney(c.bonus_balance))],
      ['App PIN', c.has_pin ? 'set' : 'not set'],
      ['Client id', `#${c.id}`],
    ]));
    p.auto.checked = c.auto_renewal;
    if (p.purchaseInfo) p.purchaseInfo();
    clear(p.holdings, table(['#', 'Tariff', 'Time left', 'Value left', 'Valid until', 'Status'],
      c.holdings.map((x) => h('tr', {
        class: x.status === 'available' || x.status === 'in_use' ? null : 'closed',
        title: `Bought ${new Date(x.purchased_at).toLocaleString()} for ${fmtMoney(x.price_paid)}; ${fmtDuration(x.total_seconds)} in total`,
      },
        num(x.id), td(tariffName(x.tariff_id), 'nowrap'),
        num(fmtDuration(x.remaining_seconds)),
        num(`${fmtMoney(x.value_remaining)} / ${fmtMoney(x.price_paid)}`),
        td(x.valid_until ? timeEl(x.valid_until) : '—'),
        td(h('span', { class: 'chip hold-' + x.status }, x.status.replace('_', ' '))))),
      'No holdings.'));
    const ledger = [...this.ledger].reverse();
    clear(p.ledger, table(['Time', 'Account', 'Amount', 'Kind', 'Session', 'Order'],
      ledger.map((e) => h('tr', null,
        td(timeEl(e.at)), td(e.account),
        num(h('span', { class: e.amount < 0 ? 'neg' : 'pos' }, fmtSigned(e.amount))),
        td(e.kind), num(e.session_id != null ? `#${e.session_id}` : '—'), num(e.order_id != null ? `#${e.order_id}` : '—'))),
      'No movements yet.'));
  },

  onEvent(ev) {
    if (ev.kind === 'balance_changed' && ev.client_id != null) {
      const c = this.list.find((x) => x.id === ev.client_id);
      if (c && ev.balance != null) {
        this.replaceRow({ ...c, balance: ev.balance, bonus_balance: ev.bonus_balance != null ? ev.bonus_balance : c.bonus_balance });
      }
    }
    if (!this.current) return;
    const id = this.current.id;
    if (ev.client_id === id || (ev.session && ev.session.client_id === id)) this.reloadSoon();
  },
};

export { clientsView };
