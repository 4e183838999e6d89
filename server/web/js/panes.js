/* The session card's panes: preview (cancel, end), create, add tariff, move, commands, price. */
import { api, qs } from './api.js';
import { previewBlock } from './session-blocks.js';
import { capText, fillTariffs, loadTariffs, state, tariffById, tariffName, zoneName } from './state.js';
import { InputError, append, backButton, byName, clear, debounce, field, fmtDuration, fmtMoney, fmtTime, h, onSubmit, parseId, parseMoney, setError, setMsg, setOptions } from './util.js';

// --- card panes ------------------------------------------------------

/** Cancel or end: show what the refund policy will do, then confirm. */
function previewPane(c, sid, action, what) {
  const results = h('div', { class: 'preview' }, h('p', { class: 'muted' }, 'Checking what this would do…'));
  const reason = h('input', { id: 'preview-reason', maxlength: '500', autocomplete: 'off', placeholder: 'optional' });
  const buttons = h('div', { class: 'row' }, backButton(() => c.closePane()));
  const title = action === 'end' ? `End session #${sid}` : `Cancel ${what} #${sid}`;
  const form = h('form', { id: 'preview-form', class: 'pane-form', novalidate: true },
    h('h3', null, title), results, field('Reason', reason), buttons);
  let confirm = null;
  const load = async () => {
    try {
      const p = await api.get(`/sessions/${sid}/preview${qs({ action })}`);
      clear(results, previewBlock(p));
      setMsg(form, p.allowed ? null : p.refusal || 'This is not available now.');
      if (p.allowed && !confirm) {
        confirm = h('button', { id: 'btn-confirm', type: 'submit', class: 'danger' }, action === 'end' ? 'Confirm end' : 'Confirm cancel');
        buttons.prepend(confirm);
      } else if (!p.allowed && confirm) {
        confirm.remove();
        confirm = null;
      }
    } catch (err) {
      setError(form, err);
    }
  };
  onSubmit(form, async () => {
    if (!confirm) return;
    const r = reason.value.trim();
    c.afterAction(await api.post(`/sessions/${sid}/${action}`, r ? { reason: r } : {}));
  });
  load();
  return { el: form, focus: reason, onSession: load };
}

function createPane(c) {
  const d = state.devices.get(c.deviceId);
  const search = h('input', { id: 'create-client-search', type: 'search', placeholder: 'Name or phone', autocomplete: 'off' });
  const client = h('select', { id: 'create-client' }, h('option', { value: '', disabled: true }, 'searching…'));
  const clientInfo = h('small', { class: 'hint' });
  const tariff = h('select', { id: 'create-tariff' });
  const tariffInfo = h('small', { class: 'hint' });
  const holding = h('select', { id: 'create-holding' }, h('option', { value: '' }, '— buy the tariff now —'));
  const bonus = h('input', { id: 'create-bonus', 'data-field': 'bonus_amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
  const planned = h('input', { id: 'create-planned', type: 'datetime-local' });
  const form = h('form', { id: 'create-form', class: 'pane-form', novalidate: true },
    h('h3', null, `New session on ${d ? d.name : 'this PC'}`),
    field('Find client', search),
    field('Client', client), clientInfo,
    field('Tariff', tariff), tariffInfo,
    field('Bonus to spend', bonus),
    field('Or play from a holding', holding),
    field('Planned start', planned, 'Empty: now (waiting for Start). Later: a reservation.'),
    h('div', { class: 'row' }, h('button', { id: 'create-submit', type: 'submit', class: 'primary' }, 'Create session'), backButton(() => c.closePane())));

  let clients = [];
  let req = 0;
  const chosen = () => clients.find((x) => String(x.id) === client.value) || null;
  const updateTariff = () => {
    const t = tariffById(tariff.value);
    const cl = chosen();
    tariffInfo.textContent = t
      ? `Price ${fmtMoney(t.price)} · ${capText(t)}${cl ? ` · client bonus ${fmtMoney(cl.bonus_balance)}` : ''}`
      : '';
  };
  const updateClient = () => {
    const cl = chosen();
    clientInfo.textContent = cl ? `Balance ${fmtMoney(cl.balance)} · bonus ${fmtMoney(cl.bonus_balance)}` : '';
    const avail = cl ? cl.holdings.filter((x) => x.status === 'available') : [];
    setOptions(holding, [h('option', { value: '' }, '— buy the tariff now —'),
      avail.map((x) => h('option', { value: x.id }, `#${x.id} ${tariffName(x.tariff_id)} · ${fmtDuration(x.remaining_seconds)} left`))]);
    syncHolding();
    updateTariff();
  };
  const syncHolding = () => {
    tariff.disabled = !!holding.value;
    bonus.disabled = !!holding.value;
  };
  const loadClients = async () => {
    const mine = ++req;
    try {
      const list = await api.get('/clients' + qs({ q: search.value.trim() }));
      if (mine !== req) return;
      clients = list;
      setOptions(client, list.length
        ? list.map((x) => h('option', { value: x.id }, `${x.name} · ${x.phone}`))
        : [h('option', { value: '', disabled: true }, 'no client found')]);
      updateClient();
    } catch (err) {
      setError(form, err);
    }
  };
  const fill = () => {
    fillTariffs(tariff, null, d ? d.zone_id : null);
    updateTariff();
  };

  search.addEventListener('input', debounce(loadClients, 200));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      client.focus();
    }
  });
  client.addEventListener('change', updateClient);
  tariff.addEventListener('change', updateTariff);
  holding.addEventListener('change', syncHolding);
  fill();
  if (!state.tariffs.length) loadTariffs().then(fill).catch((err) => setError(form, err));
  loadClients();

  onSubmit(form, async () => {
    const clientId = parseId(client.value, 'client');
    if (!clientId) throw new InputError('client: choose a client');
    const body = { client_id: clientId, device_id: c.deviceId };
    if (holding.value) {
      body.holding_id = Number(holding.value);
    } else {
      if (!tariff.value) throw new InputError('tariff: choose a tariff');
      body.tariff_id = Number(tariff.value);
      body.bonus_amount = parseMoney(bonus.value, 'bonus_amount') || 0;
    }
    if (planned.value) {
      const at = new Date(planned.value);
      if (Number.isNaN(at.getTime())) throw new InputError('planned_start_at: enter a date and time');
      body.planned_start_at = at.toISOString();
    }
    c.afterAction(await api.post('/sessions', body));
  });
  return { el: form, focus: search };
}

function addTariffPane(c, sid) {
  const d = state.devices.get(c.deviceId);
  const s = d && d.session && d.session.id === sid ? d.session : null;
  const clientId = (c.detail && c.detail.id === sid && c.detail.client_id) || (s && s.client_id);
  const tariff = h('select', { id: 'add-tariff-tariff' });
  const holding = h('select', { id: 'add-tariff-holding' }, h('option', { value: '' }, '— none —'));
  const bonus = h('input', { id: 'add-tariff-bonus', 'data-field': 'bonus_amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
  const info = h('small', { class: 'hint' });
  const modeInput = (value, label, hint, checked) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'add-tariff-mode', id: `add-tariff-${value}`, value, checked }),
    h('span', null, h('strong', null, label), h('small', { class: 'hint' }, hint)));
  const modes = h('fieldset', { class: 'modes' },
    h('legend', null, 'How'),
    modeInput('extend', 'Extend', 'Plays longer: queued after the current time, the session ends later. Nothing is given back.', true),
    modeInput('switch', 'Switch now', 'Moves to this tariff now: the current tariff stops and its holding keeps the time not used; queued time goes back to the balance.', false));
  const form = h('form', { id: 'add-tariff-form', class: 'pane-form', novalidate: true },
    h('h3', null, 'Add tariff'),
    modes,
    field('Buy a tariff now', tariff), info,
    field('Bonus to spend', bonus),
    field('Or use a holding of the client', holding),
    h('div', { class: 'row' }, h('button', { id: 'add-tariff-submit', type: 'submit', class: 'primary' }, 'Add tariff'), backButton(() => c.closePane())));

  let client = null;
  const updateInfo = () => {
    const t = tariffById(tariff.value);
    info.textContent = t
      ? `Price ${fmtMoney(t.price)} · ${capText(t)}${client ? ` · client balance ${fmtMoney(client.balance)}, bonus ${fmtMoney(client.bonus_balance)}` : ''}`
      : '';
  };
  const fill = () => {
    const first = !tariff.options.length;
    fillTariffs(tariff, '— none —', d ? d.zone_id : null);
    if (first && tariff.options.length > 1 && !holding.value) tariff.selectedIndex = 1;
    updateInfo();
  };
  tariff.addEventListener('change', () => {
    if (tariff.value) holding.value = '';
    updateInfo();
  });
  holding.addEventListener('change', () => {
    if (holding.value) tariff.value = '';
    bonus.disabled = !!holding.value;
    updateInfo();
  });
  fill();
  if (!state.tariffs.length) loadTariffs().then(fill).catch((err) => setError(form, err));
  if (clientId) {
    api.get(`/clients/${clientId}`).then((cl) => {
      client = cl;
      const avail = cl.holdings.filter((x) => x.status === 'available');
      append(holding, avail.map((x) => h('option', { value: x.id }, `#${x.id} ${tariffName(x.tariff_id)} · ${fmtDuration(x.remaining_seconds)} left`)));
      if (!avail.length) append(holding, [h('option', { value: '', disabled: true }, 'no available holding')]);
      updateInfo();
    }).catch((err) => setError(form, err));
  }

  onSubmit(form, async () => {
    let body;
    if (holding.value) body = { holding_id: Number(holding.value) };
    else if (tariff.value) body = { tariff_id: Number(tariff.value), bonus_amount: parseMoney(bonus.value, 'bonus_amount') || 0 };
    else throw new InputError('tariff: choose a tariff to buy or a holding');
    body.mode = form.querySelector('input[name="add-tariff-mode"]:checked').value;
    c.afterAction(await api.post(`/sessions/${sid}/tariffs`, body));
  });
  return { el: form, focus: tariff };
}

function movePane(c, sid) {
  const select = h('select', { id: 'move-device' });
  const reason = h('input', { id: 'move-reason', maxlength: '500', autocomplete: 'off', placeholder: 'optional' });
  const form = h('form', { id: 'move-form', class: 'pane-form', novalidate: true },
    h('h3', null, 'Move to another PC'),
    h('p', { class: 'hint' }, 'The session keeps running; the old PC locks, the new one takes over.'),
    field('Free PC', select),
    field('Reason', reason),
    h('div', { class: 'row' }, h('button', { id: 'move-submit', type: 'submit', class: 'primary' }, 'Move'), backButton(() => c.closePane())));
  const fill = () => {
    const free = [...state.devices.values()]
      .filter((d) => d.online && d.enabled && !d.session && d.id !== c.deviceId)
      .sort((a, b) => a.zone_id - b.zone_id || byName(a, b));
    setOptions(select, free.length
      ? free.map((d) => {
        const res = (d.reservations || [])[0];
        return h('option', { value: d.id }, `${d.name} · ${zoneName(d.zone_id)}${res ? ` · booked ${fmtTime(res.planned_start_at)}` : ''}`);
      })
      : [h('option', { value: '', disabled: true }, 'no free PC online')]);
  };
  fill();
  onSubmit(form, async () => {
    const deviceId = parseId(select.value, 'device_id');
    if (!deviceId) throw new InputError('device_id: choose a free PC');
    const r = reason.value.trim();
    c.afterAction(await api.post(`/sessions/${sid}/device`, r ? { device_id: deviceId, reason: r } : { device_id: deviceId }));
  });
  return { el: form, focus: select, onHall: fill };
}

const COMMAND_NAMES = { message: 'Message', reboot: 'Reboot', shutdown: 'Shut down', wake: 'Wake' };

/** "Reboot: done 12:03", "Message: sent…", "Shut down: failed — why". */
function commandText(cmd) {
  const name = COMMAND_NAMES[cmd.kind] || cmd.kind;
  if (cmd.state === 'sent') return `${name}: sent, waiting for the PC…`;
  const at = cmd.answered_at ? ` ${fmtTime(cmd.answered_at)}` : '';
  if (cmd.state === 'done') return `${name}: done${at}`;
  return `${name}: failed${at}${cmd.error ? ' — ' + cmd.error : ''}`;
}

/** Remote control of the card's PC (DeviceManage): a message, a reboot, a shutdown, a wake. */
function commandPane(c, kind) {
  const d = state.devices.get(c.deviceId) || {};
  const playing = d.session && d.session.status === 'STARTED';
  const text = kind === 'message' ? h('textarea', { id: 'pc-message-text', maxlength: '500', rows: '3' }) : null;
  const force = (kind === 'reboot' || kind === 'shutdown') && playing ? h('input', { id: 'pc-force', type: 'checkbox' }) : null;
  const explain = {
    message: 'Shown on the PC: on the lock screen, or as a notice over the game.',
    reboot: `Restarts ${d.name}.`,
    shutdown: `Turns ${d.name} off.`,
    wake: `Sends a Wake-on-LAN packet to ${d.name}.`,
  }[kind];
  const form = h('form', { id: 'pc-command-form', class: 'pane-form', novalidate: true },
    h('h3', null, `${COMMAND_NAMES[kind]} · ${d.name || ''}`),
    h('p', { class: 'muted' }, explain),
    text ? field('Text', text) : null,
    force ? h('label', { class: 'check' }, force, ` ${d.session.client_name} is playing: do it anyway`) : null,
    h('div', { class: 'row' }, h('button', { id: 'pc-command-submit', type: 'submit', class: kind === 'message' || kind === 'wake' ? 'primary' : 'danger' }, COMMAND_NAMES[kind]), backButton(() => c.closePane())));
  onSubmit(form, async () => {
    const body = { kind };
    if (text) body.text = text.value.trim();
    if (force) body.force = force.checked;
    const cmd = await api.post(`/devices/${c.deviceId}/commands`, body);
    c.closePane();
    // Its answer shows under the PC's details as it comes.
    const said = cmd.state === 'sent' ? `${COMMAND_NAMES[kind]} sent to ${d.name}.` : commandText(cmd);
    if (c.parts) setMsg(c.parts.msg, said, cmd.state === 'failed' ? 'error' : 'ok');
  });
  return { el: form, focus: text || undefined };
}

function pricePane(c, sid) {
  const delta = h('input', { id: 'price-delta', inputmode: 'decimal', autocomplete: 'off', placeholder: '20.00 or -20.00' });
  const reason = h('input', { id: 'price-reason', maxlength: '500', autocomplete: 'off' });
  const form = h('form', { id: 'price-form', class: 'pane-form', novalidate: true },
    h('h3', null, 'Price correction'),
    field('Amount', delta, 'Positive charges the client extra; negative gives money back. Settled on the balance now.'),
    field('Reason (required)', reason),
    h('div', { class: 'row' }, h('button', { id: 'price-submit', type: 'submit', class: 'primary' }, 'Apply correction'), backButton(() => c.closePane())));
  onSubmit(form, async () => {
    const amount = parseMoney(delta.value, 'delta', true);
    if (amount == null) throw new InputError('delta: enter an amount, e.g. 20.00 or -20.00');
    c.afterAction(await api.post(`/sessions/${sid}/price-corrections`, { delta: amount, reason: reason.value.trim() }));
  });
  return { el: form, focus: delta };
}

export { COMMAND_NAMES, addTariffPane, commandPane, commandText, createPane, movePane, previewPane, pricePane };
