/* Tariffs. */
import { api } from './api.js';
import { bonusCap, can, loadTariffs, state, zoneLabel, zoneName } from './state.js';
import { $, $$, InputError, POLICY_LABEL, append, byName, clear, debounce, fmtDuration, fmtMoney, h, minuteOfDay, num, onSubmit, parseCount, parseMoney, setError, setMsg, setOk, table, td } from './util.js';

const tariffsView = {
  editing: null,
  zones: [],
  durationShown: '',

  init() {
    onSubmit($('#tariff-form'), () => this.save());
    $('#tariff-reset').addEventListener('click', () => this.edit(null));
    $('#tariff-new').addEventListener('click', () => {
      this.edit(null);
      $('#tariff-name').focus();
    });
    this.onChanged = debounce(() => {
      loadTariffs().then(() => { if (state.view === 'tariffs') this.render(); }).catch(() => {});
    }, 300);
  },

  async show() {
    setMsg($('#tariffs-msg'), null);
    try {
      const [, zones] = await Promise.all([loadTariffs(), api.get('/zones')]);
      this.zones = zones;
    } catch (err) {
      setError($('#tariffs-msg'), err);
    }
    this.render();
    this.renderZones(this.checkedZones());
  },

  reset() {
    this.editing = null;
    clear($('#tariffs-list'));
  },

  zoneLabel(id) {
    const z = this.zones.find((x) => x.id === id) || state.zones.find((x) => x.id === id);
    return z ? zoneLabel(z) : zoneName(id);
  },

  render() {
    const manage = can('TariffManage');
    const rows = [...state.tariffs].sort(byName).map((t) => h('tr', { 'data-tariff-id': t.id, class: this.editing && this.editing.id === t.id ? 'selected' : (t.active ? null : 'closed') },
      td(t.name), num(fmtDuration(t.duration_seconds)), num(fmtMoney(t.price)),
      td(POLICY_LABEL[t.refund_policy] || t.refund_policy),
      num(t.max_bonus_percent == null ? 'no cap' : `${t.max_bonus_percent}% (${fmtMoney(bonusCap(t))})`),
      num(t.validity_days == null ? '—' : `${t.validity_days} d`),
      td(t.zone_ids.length ? t.zone_ids.map((id) => this.zoneLabel(id)).join(', ') : 'all'),
      td(t.window_start_minute == null ? '—' : `${minuteOfDay(t.window_start_minute)}–${minuteOfDay(t.window_end_minute)}`),
      td(t.active ? 'on sale' : 'inactive'),
      manage ? td(h('button', { type: 'button', class: 'small', onclick: () => this.edit(t) }, 'Edit')) : null));
    const headers = ['Name', 'Duration', 'Price', 'Refund policy', 'Max bonus', 'Validity', 'Zones', 'Window', 'Status'];
    if (manage) headers.push('');
    clear($('#tariffs-list'), table(headers, rows, 'No tariffs yet.'));
  },

  checkedZones() {
    return $$('#tariff-zones input:checked').map((x) => Number(x.value));
  },

  renderZones(checked) {
    const box = $('#tariff-zones');
    for (const el of $$(':scope > label', box)) el.remove();
    const zones = this.zones.length ? this.zones : state.zones;
    append(box, zones.map((z) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: z.id, id: `tariff-zone-${z.id}`, checked: checked.includes(z.id) }), ` ${this.zoneLabel(z.id)}`)));
  },

  edit(t) {
    this.editing = t;
    $('#tariff-form-title').textContent = t ? `Edit ${t.name}` : 'New tariff';
    $('#tariff-submit').textContent = t ? 'Save changes' : 'Create tariff';
    $('#tariff-name').value = t ? t.name : '';
    this.durationShown = t ? String(Math.round((t.duration_seconds / 60) * 100) / 100) : '';
    $('#tariff-duration').value = this.durationShown;
    $('#tariff-price').value = t ? fmtMoney(t.price) : '';
    $('#tariff-policy').value = t ? t.refund_policy : 'keep_balance';
    $('#tariff-bonus').value = t && t.max_bonus_percent != null ? String(t.max_bonus_percent) : '';
    $('#tariff-validity').value = t && t.validity_days != null ? String(t.validity_days) : '';
    $('#tariff-active').checked = t ? t.active : true;
    this.renderZones(t ? t.zone_ids : []);
    setMsg($('#tariff-form'), null);
    this.render();
  },

  async save() {
    const t = this.editing;
    const minutes = $('#tariff-duration').value.trim();
    let duration;
    if (t && minutes === this.durationShown) {
      duration = t.duration_seconds; // untouched: keep the exact seconds
    } else {
      if (!/^\d+$/.test(minutes) || Number(minutes) < 1) throw new InputError('duration: enter whole minutes, at least 1');
      duration = Number(minutes) * 60;
    }
    const price = parseMoney($('#tariff-price').value, 'price');
    if (price == null) throw new InputError('price: enter a price, e.g. 150.00');
    const body = {
      name: $('#tariff-name').value.trim(),
      duration_seconds: duration,
      price,
      refund_policy: $('#tariff-policy').value,
      max_bonus_percent: parseCount($('#tariff-bonus').value, 'max_bonus_percent', 100),
      validity_days: parseCount($('#tariff-validity').value, 'validity_days'),
      // PUT takes the full tariff: keep what this form does not edit.
      expiration_policy: t ? t.expiration_policy : 'burn',
      window_start_minute: t ? t.window_start_minute : null,
      window_end_minute: t ? t.window_end_minute : null,
      zone_ids: this.checkedZones(),
      active: $('#tariff-active').checked,
    };
    const saved = t ? await api.put(`/tariffs/${t.id}`, body) : await api.post('/tariffs', body);
    await loadTariffs().catch(() => {});
    this.edit(saved);
    setOk($('#tariff-form'), t ? `Saved ${saved.name}.` : `Created ${saved.name}.`);
  },

  onChanged() {},
};

export { tariffsView };
