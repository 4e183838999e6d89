/* The session card: the side panel for one PC. */
import { api } from './api.js';
import { clientsView } from './clients.js';
import { hall } from './hall.js';
import { addTariffPane, commandPane, commandText, createPane, movePane, previewPane, pricePane } from './panes.js';
import { correctionsTable, noteFor, receiptBlock, segmentsTable } from './session-blocks.js';
import { can, deviceName, deviceState, now, queuedText, state, tariffPlan, zoneName } from './state.js';
import { $, ApiError, LIVE_STATUSES, STATUS_RANK, chip, clear, fmtCountdown, fmtDateTime, fmtDuration, h, kv, metricsText, setError, setMsg, statusChip, timeEl } from './util.js';

const card = {
  deviceId: null,
  sid: null, // the session shown (the PC's live session), or null
  detail: null, // GET /sessions/{sid}, kept fresh by feed events
  note: null, // what just happened: ended, cancelled, moved, booked
  pane: null, // the open action form
  actionsKey: '',
  reservationsKey: '',
  headState: null,
  el: null,
  parts: null,
  detailReq: 0,
  sessionEvents: 0,
  syncKey: '',

  open(deviceId) {
    if (this.deviceId !== deviceId) this.reset();
    this.deviceId = deviceId;
    if (!this.el) this.build();
    hall.markSelected();
    this.render();
    this.el.focus({ preventScroll: true });
  },

  reset() {
    this.closePane();
    this.sid = null;
    this.detail = null;
    this.note = null;
    this.actionsKey = '';
    this.reservationsKey = '';
    this.syncKey = '';
    if (this.parts) setMsg(this.parts.msg, null);
  },

  close() {
    const id = this.deviceId;
    this.reset();
    this.deviceId = null;
    if (this.el) this.el.remove();
    this.el = null;
    this.parts = null;
    $('#side-panel').hidden = true;
    hall.markSelected();
    if (id != null && state.tiles.has(id)) state.tiles.get(id).focus();
  },

  build() {
    const p = (this.parts = {
      title: h('h2', { class: 'card-title' }),
      chips: h('span', { class: 'card-chips' }),
      info: h('div', { class: 'card-info' }),
      body: h('div', { class: 'card-body' }),
      tables: h('div', { class: 'card-tables' }),
      actions: h('div', { class: 'card-actions' }),
      msg: h('div', { class: 'card-msg' }),
      pane: h('div', { class: 'card-pane' }),
      reservations: h('div', { class: 'card-res' }),
    });
    const closeBtn = h('button', { type: 'button', class: 'icon', title: 'Close (Esc)', 'aria-label': 'Close', onclick: () => this.close() }, '×');
    this.el = h('section', { id: 'session-card', class: 'card', tabindex: '-1', 'aria-label': 'PC card' },
      h('header', { class: 'card-head' }, p.title, p.chips, closeBtn),
      p.info, p.body, p.actions, p.msg, p.pane, p.reservations, p.tables);
    this.el.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      if (this.pane) {
        this.closePane();
        this.el.focus();
      } else {
        this.close();
      }
    });
    const panel = $('#side-panel');
    clear(panel, this.el);
    panel.hidden = false;
  },

  render() {
    if (!this.el) return;
    const el = this.el;
    el.dataset.deviceId = this.deviceId;
    const d = state.devices.get(this.deviceId);
    if (!d) {
      this.parts.title.textContent = `PC #${this.deviceId}`;
      clear(this.parts.body, h('p', { class: 'muted' }, 'This PC is not in the hall.'));
      return;
    }
    const s = d.session || null;
    this.syncSession(s);
    const status = s ? this.status(s) : null;
    if (s) {
      el.dataset.sessionId = s.id;
      el.dataset.status = status;
    } else {
      delete el.dataset.sessionId;
      delete el.dataset.status;
    }
    this.renderHead(d);
    this.renderInfo(d);
    this.renderBody(s, status);
    this.renderActions(s, status);
    this.checkPane(d, s, status);
    this.renderReservations(d);
    this.maybeRefetch(s);
  },

  /** The PC's session changed identity: load the new one, explain where the old one went. */
  syncSession(s) {
    const id = s ? s.id : null;
    if (id === this.sid) return;
    const prevSid = this.sid;
    const prev = this.detail && this.detail.id === prevSid ? this.detail : null;
    if (this.pane && this.pane.sid != null && this.pane.sid === prevSid) this.closePane();
    this.sid = id;
    this.detail = null;
    this.syncKey = '';
    setMsg(this.parts.msg, null);
    if (id != null) {
      this.note = null;
      this.loadDetail();
    } else if (prevSid != null) {
      this.note = noteFor(prev, prevSid, this.deviceId);
      const known = prev && (!LIVE_STATUSES.includes(prev.status) || prev.device_id !== this.deviceId);
      if (!known) this.loadGone(prevSid);
    }
  },

  /** The feed's status, unless an action's answer already knows a later one. */
  status(s) {
    const mine = this.detail && this.detail.id === s.id ? this.detail.status : null;
    return mine && STATUS_RANK[mine] > STATUS_RANK[s.status] ? mine : s.status;
  },

  /** Polling mode gives no session events: refetch when the PC says the session moved on. */
  maybeRefetch(s) {
    if (!s || !this.detail || this.detail.id !== s.id) return;
    const stale = STATUS_RANK[s.status] > STATUS_RANK[this.detail.status] || (s.ends_at || null) !== (this.detail.ends_at || null);
    const key = `${s.id}|${s.status}|${s.ends_at}`;
    if (stale && key !== this.syncKey) {
      this.syncKey = key;
      this.loadDetail();
    }
  },

  async loadDetail() {
    const sid = this.sid;
    const req = ++this.detailReq;
    const seen = this.sessionEvents;
    try {
      const v = await api.get(`/sessions/${sid}`);
      // An event that arrived meanwhile is at least as fresh as this answer.
      if (req !== this.detailReq || sid !== this.sid || seen !== this.sessionEvents) return;
      this.detail = v;
      this.render();
    } catch (err) {
      if (sid === this.sid && this.parts) setError(this.parts.msg, err);
    }
  },

  async loadGone(sid) {
    try {
      const v = await api.get(`/sessions/${sid}`);
      if (this.el && this.sid == null && this.note && this.note.sid === sid) {
        this.note = noteFor(v, sid, this.deviceId);
        this.render();
      }
    } catch (_) { /* the generic note stays */ }
  },

  renderHead(d) {
    const st = deviceState(d);
    this.headState = st;
    this.parts.title.textContent = d.name;
    clear(this.parts.chips, chip(st, st), d.enabled ? null : chip('muted', 'disabled'));
  },

  renderInfo(d) {
    const m = d.online && d.metrics ? d.metrics : null;
    clear(this.parts.info,
      h('div', null, zoneName(d.zone_id), ' · ', d.online ? 'online' : 'offline',
        !d.online && d.last_seen_at ? [' · last seen ', timeEl(d.last_seen_at)] : null),
      m ? h('div', { class: 'muted' }, metricsText(m), ` · up ${fmtDuration(m.uptime_seconds)} · ${m.hostname}`) : null,
      m ? (m.problems || []).map((p) => h('div', { class: 'problem' }, `⚠ ${p}`)) : null,
      d.command ? h('div', { id: 'pc-command', class: 'cmd-' + d.command.state, 'data-state': d.command.state }, commandText(d.command)) : null);
  },

  renderBody(s, status) {
    const nodes = [];
    const note = this.note;
    if (note) {
      nodes.push(h('p', { class: 'note' }, note.text,
        note.deviceId != null ? [' ', h('button', { type: 'button', class: 'link', onclick: () => this.open(note.deviceId) }, `Open ${deviceName(note.deviceId)}`)] : null));
      if (note.receipt) nodes.push(receiptBlock(note.receipt, `Receipt · session #${note.sid}`));
    }
    if (!s) {
      nodes.push(h('p', { class: 'muted' }, 'No session on this PC.'));
      clear(this.parts.body, nodes);
      clear(this.parts.tables);
      return;
    }
    const v = this.detail && this.detail.id === s.id ? this.detail : null;
    const plan = tariffPlan(v ? v.segments : s.segments);
    nodes.push(h('div', { class: 'session-head' }, h('h3', null, `Session #${s.id}`), statusChip(status)));
    nodes.push(kv([
      ['Client', [s.client_name, ' ', h('button', { type: 'button', class: 'link', title: 'Open client', onclick: () => clientsView.openFromCard(s.client_id) }, `#${s.client_id}`)]],
      ['Tariff', plan.current ? plan.current.tariff_name : s.tariff_name],
      plan.queued.length ? ['Queued', h('span', { class: 'queued' }, queuedText(plan))] : null,
      ['Planned start', timeEl(s.planned_start_at)],
      ['Started', timeEl(s.actual_start_at)],
      ['Ends at', timeEl(s.ends_at)],
      status === 'STARTED' && s.ends_at
        ? ['Time left', h('span', { class: 'countdown', 'data-ends-at': s.ends_at }, fmtCountdown(Date.parse(s.ends_at) - now()))]
        : null,
    ]));
    clear(this.parts.body, nodes);
    clear(this.parts.tables, v
      ? [
        h('h4', null, 'Tariff segments'), segmentsTable(v.segments),
        h('h4', null, 'Price corrections'), correctionsTable(v.price_corrections),
        v.receipt ? [h('h4', null, 'Receipt'), receiptBlock(v.receipt)] : null,
      ]
      : h('p', { class: 'muted' }, 'Loading session…'));
  },

  renderActions(s, status) {
    const acts = [];
    if (s) {
      // What the session allows is the server's word (its state machine
      // and cancel rule); what this operator may do is their permissions.
      const allows = s.actions || {};
      if (allows.start && can('SessionStart')) acts.push(['btn-start', 'Start', 'primary', () => this.start()]);
      if (allows.cancel && can('SessionDelete')) acts.push(['btn-cancel', 'Cancel session…', 'danger', () => this.openPane('cancel')]);
      if (allows.end && can('SessionEnd')) acts.push(['btn-end', 'End session…', 'danger', () => this.openPane('end')]);
      if (LIVE_STATUSES.includes(status) && can('SessionEdit')) {
        acts.push(['btn-add-tariff', 'Add tariff…', '', () => this.openPane('add-tariff')]);
        acts.push(['btn-move', 'Move…', '', () => this.openPane('move')]);
        acts.push(['btn-price', 'Price correction…', '', () => this.openPane('price')]);
      }
    } else if (can('SessionCreate')) {
      acts.push(['btn-create', 'New session…', 'primary', () => this.openPane('create')]);
    }
    const d = state.devices.get(this.deviceId);
    if (d && can('DeviceManage')) {
      if (d.online) {
        acts.push(['btn-pc-message', 'Message…', '', () => this.openPane('pc-message')]);
        acts.push(['btn-pc-reboot', 'Reboot…', '', () => this.openPane('pc-reboot')]);
        acts.push(['btn-pc-shutdown', 'Shut down…', '', () => this.openPane('pc-shutdown')]);
      } else if (d.enrolled) {
        acts.push(['btn-pc-wake', 'Wake…', '', () => this.openPane('pc-wake')]);
      }
    }
    const key = `${s ? s.id : '-'}:${acts.map((a) => a[0]).join(',')}`;
    if (key === this.actionsKey) return;
    this.actionsKey = key;
    clear(this.parts.actions, acts.map(([id, label, cls, fn]) => h('button', { id, type: 'button', class: cls || null, onclick: fn }, label)));
  },

  renderReservations(d) {
    const list = d.reservations || [];
    const key = JSON.stringify([list, can('SessionDelete')]);
    if (key === this.reservationsKey) return;
    this.reservationsKey = key;
    if (!list.length) {
      clear(this.parts.reservations);
      return;
    }
    clear(this.parts.reservations, h('h4', null, 'Reservations'), h('ul', { class: 'res-list' }, list.map((r) => h('li', null,
      h('span', { class: 'res-time' }, fmtDateTime(r.planned_start_at)),
      h('span', { class: 'res-who' }, `${r.client_name} · ${r.tariff_name}`),
      h('span', { class: 'muted' }, `#${r.id}`),
      can('SessionDelete')
        ? h('button', { type: 'button', class: 'btn-cancel-res danger small', 'data-session-id': r.id, onclick: () => this.openPane('cancel-res', r.id) }, 'Cancel…')
        : null))));
  },

  openPane(kind, sid = this.sid) {
    this.closePane();
    setMsg(this.parts.msg, null);
    const builders = {
      cancel: () => previewPane(this, sid, 'cancel', 'session'),
      'cancel-res': () => previewPane(this, sid, 'cancel', 'reservation'),
      end: () => previewPane(this, sid, 'end', 'session'),
      'add-tariff': () => addTariffPane(this, sid),
      move: () => movePane(this, sid),
      price: () => pricePane(this, sid),
      create: () => createPane(this),
      'pc-message': () => commandPane(this, 'message'),
      'pc-reboot': () => commandPane(this, 'reboot'),
      'pc-shutdown': () => commandPane(this, 'shutdown'),
      'pc-wake': () => commandPane(this, 'wake'),
    };
    const pane = builders[kind]();
    pane.kind = kind;
    pane.sid = kind === 'create' ? null : sid;
    this.pane = pane;
    clear(this.parts.pane, pane.el);
    const focus = pane.focus || pane.el.querySelector('input, select, button');
    if (focus) focus.focus();
    if (this.parts.pane.scrollIntoView) this.parts.pane.scrollIntoView({ block: 'nearest' });
  },

  closePane() {
    if (!this.pane) return;
    this.pane = null;
    if (this.parts) clear(this.parts.pane);
  },

  /** Closes the open form when what it acts on no longer allows it. */
  checkPane(d, s, status) {
    const p = this.pane;
    if (!p) return;
    const onIt = s && s.id === p.sid;
    let ok;
    switch (p.kind) {
      case 'create': ok = !s; break;
      case 'cancel-res': ok = (d.reservations || []).some((r) => r.id === p.sid) || (onIt && !!(s.actions || {}).cancel); break;
      case 'cancel': ok = onIt && !!(s.actions || {}).cancel; break;
      case 'end': ok = onIt && !!(s.actions || {}).end; break;
      default: ok = onIt && LIVE_STATUSES.includes(status);
    }
    if (!ok) this.closePane();
  },

  /**
   * Start for the player. On a PC whose agent is offline the server
   * refuses (it could not unlock, and the time would run): the button
   * then becomes "Start anyway", which forces it (audited).
   */
  async start(force = false) {
    const sid = this.sid;
    const btn = $('#btn-start');
    const d = state.devices.get(this.deviceId);
    const offerForce = (text) => {
      setMsg(this.parts.msg, text);
      if (!btn) return;
      btn.disabled = false;
      btn.textContent = 'Start anyway';
      btn.dataset.force = 'true';
      btn.onclick = () => this.start(true);
    };
    setMsg(this.parts.msg, null);
    if (!force && d && !d.online) {
      offerForce(`${d.name} is offline: it cannot unlock, and the player's time would run. Start anyway only if you know why.`);
      return;
    }
    if (btn) btn.disabled = true;
    try {
      this.afterAction(await api.post(`/sessions/${sid}/start`, force ? { force: true } : {}), false);
    } catch (err) {
      if (!this.parts) return;
      if (!force && err instanceof ApiError && err.status === 409 && / is offline/.test(err.message)) offerForce(err.message);
      else {
        setError(this.parts.msg, err);
        if (btn) btn.disabled = false;
      }
    }
  },

  /** An action answered with a session: show it now, before the feed says so. */
  afterAction(v, closePane = true) {
    if (!this.el) return;
    if (v && v.id != null) {
      if (v.id === this.sid) this.detail = v;
      if (v.status === 'ENDED' || v.status === 'CANCELLED' || v.status === 'PENDING') this.note = noteFor(v, v.id, this.deviceId);
    }
    if (closePane) this.closePane();
    this.actionsKey = '';
    hall.refresh();
    this.render();
  },

  onEvent(ev) {
    if (!this.el) return;
    const sv = ev.session;
    if (sv && sv.id === this.sid) {
      this.sessionEvents += 1;
      this.detail = sv;
    }
    const touches = (ev.devices || []).some((d) => d.id === this.deviceId) || (sv && sv.id === this.sid);
    if (touches) this.render();
    const p = this.pane;
    if (p && this.pane === p) {
      if (sv && sv.id === p.sid && p.onSession) p.onSession();
      if ((ev.devices || []).length && p.onHall) p.onHall();
    }
  },

  onHall() {
    if (!this.el) return;
    this.render();
    if (this.pane && this.pane.onHall) this.pane.onHall();
  },

  tick() {
    if (!this.el) return;
    const d = state.devices.get(this.deviceId);
    if (d && deviceState(d) !== this.headState) this.render();
  },
};

export { card };
