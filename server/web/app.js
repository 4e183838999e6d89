/* Clubhall operator page. Plain ES2020, no build step, no dependencies.
 *
 * Sections: constants · helpers · formatting · state · api · auth · feed ·
 * hall map · session card (+ its panes) · clients · sessions report ·
 * tariffs · roles · audit · views & boot.
 *
 * Server strings only ever reach the page as text nodes (see h()); nothing
 * is written with innerHTML.
 */
'use strict';

(() => {
  // ===================================================================
  // constants
  // ===================================================================
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

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
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
        if (!(err instanceof ApiError && err.status === 401)) setError(form, err);
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

  // ===================================================================
  // state
  // ===================================================================
  const state = {
    token: null,
    operator: null,
    view: 'hall',
    hallLoaded: false,
    zones: [],
    devices: new Map(), // id -> DeviceView, replaced wholesale by the feed
    tiles: new Map(), // id -> tile element
    skew: 0, // server clock minus ours, when it is noticeable
    tariffs: [],
  };

  const can = (perm) => !!(state.operator && (state.operator.permissions || []).includes(perm));
  const now = () => Date.now() + state.skew;
  const activeTariffs = () => state.tariffs.filter((t) => t.active).sort(byName);
  const tariffById = (id) => state.tariffs.find((t) => String(t.id) === String(id));
  const tariffName = (id) => (tariffById(id) || {}).name || `tariff #${id}`;
  const deviceName = (id) => (state.devices.get(id) || {}).name || `PC #${id}`;
  const zoneName = (id) => (state.zones.find((z) => z.id === id) || {}).name || `Zone #${id}`;

  function bonusCap(t) {
    return t.max_bonus_percent == null ? null : Math.floor((t.price * t.max_bonus_percent) / 100);
  }
  function capText(t) {
    const cap = bonusCap(t);
    return cap == null ? 'no cap' : `bonus cap ${fmtMoney(cap)}`;
  }

  function tariffOption(t, zoneId) {
    const outside = zoneId != null && t.zone_ids.length > 0 && !t.zone_ids.includes(zoneId);
    return h('option', { value: t.id },
      `${t.name} · ${fmtMoney(t.price)} · ${capText(t)}${outside ? ' · not in this zone' : ''}`);
  }

  /** Fills a select with the active tariffs, keeping the choice when it still exists. */
  function fillTariffs(select, blankLabel, zoneId) {
    const list = activeTariffs();
    setOptions(select, [
      blankLabel != null ? h('option', { value: '' }, blankLabel) : null,
      list.map((t) => tariffOption(t, zoneId)),
      !list.length && blankLabel == null ? h('option', { value: '', disabled: true }, 'no tariff on sale') : null,
    ]);
  }

  let tariffsLoading = null;
  function loadTariffs() {
    if (!tariffsLoading) {
      tariffsLoading = api.get('/tariffs')
        .then((list) => { state.tariffs = list; return list; })
        .finally(() => { tariffsLoading = null; });
    }
    return tariffsLoading;
  }

  /** State of a live session, ignoring whether its PC is online. */
  function sessionState(s, t = now()) {
    if (s.status === 'STARTED') return s.ends_at && Date.parse(s.ends_at) - t <= ENDING_MS ? 'ending' : 'playing';
    if (s.status === 'ACTIVE') return 'waiting';
    if (s.status === 'PENDING') return 'reserved';
    return null;
  }

  /**
   * A live session's tariffs at `t`: the one running (or first to run) and
   * those queued after it, from the hall's `segments` or a session's own
   * open segments (queued ones start when the one before them ends).
   */
  function tariffPlan(segments, t = now()) {
    const open = (segments || []).filter((g) => !g.closed_at);
    let i = open.findIndex((g) => g.starts_at && g.ends_at && Date.parse(g.starts_at) <= t && t < Date.parse(g.ends_at));
    if (i < 0) i = 0;
    const seconds = (g) => g.seconds != null ? g.seconds
      : g.starts_at && g.ends_at ? (Date.parse(g.ends_at) - Date.parse(g.starts_at)) / 1000 : null;
    const queued = open.slice(i + 1);
    return {
      current: open[i] || null,
      queued,
      queuedSeconds: queued.reduce((sum, g) => sum + (seconds(g) || 0), 0),
    };
  }

  /** "+2h 00m queued (Keep)": what an extension adds after the current tariff. */
  function queuedText(plan) {
    if (!plan.queued.length) return '';
    const names = [...new Set(plan.queued.map((g) => g.tariff_name))].join(', ');
    return `+${fmtDuration(plan.queuedSeconds)} queued (${names})`;
  }

  /** The tile's data-state (see the DOM contract). */
  function deviceState(d, t = now()) {
    if (!d.online) return 'offline';
    const st = d.session ? sessionState(d.session, t) : null;
    if (st) return st;
    return (d.reservations || []).length ? 'reserved' : 'free';
  }

  // ===================================================================
  // api
  // ===================================================================
  const api = {
    async call(method, path, body) {
      const token = state.token;
      const headers = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      let res;
      try {
        res = await fetch('/api/v1' + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (_) {
        throw new ApiError(0, 'network', 'Cannot reach the server; check the connection and try again.');
      }
      const text = await res.text();
      let data = null;
      if (text) {
        try { data = JSON.parse(text); } catch (_) { data = null; }
      }
      if (res.ok) return data;
      const e = (data && data.error) || { code: `http_${res.status}`, message: `${res.status} ${res.statusText || 'error'}` };
      if (res.status === 401 && token && token === state.token) auth.signOut(e.message);
      throw new ApiError(res.status, e.code, e.message);
    },
    get: (path) => api.call('GET', path),
    post: (path, body = {}) => api.call('POST', path, body),
    put: (path, body) => api.call('PUT', path, body),
    patch: (path, body) => api.call('PATCH', path, body),
  };

  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, v);
    const s = u.toString();
    return s ? '?' + s : '';
  }

  // ===================================================================
  // auth
  // ===================================================================
  const auth = {
    init() {
      $('#login-form').addEventListener('submit', (e) => {
        e.preventDefault();
        this.submit();
      });
      $('#logout').addEventListener('click', () => this.logout());
      const token = sessionStorage.getItem(TOKEN_KEY);
      let operator = null;
      try { operator = JSON.parse(sessionStorage.getItem(OPERATOR_KEY) || 'null'); } catch (_) { operator = null; }
      if (token && operator) {
        state.token = token;
        state.operator = operator;
        app.start();
      } else {
        this.showLogin('');
      }
    },

    async submit() {
      const btn = $('#login-submit');
      const err = $('#login-error');
      err.textContent = '';
      btn.disabled = true;
      try {
        const ans = await api.call('POST', '/auth/login', { login: $('#login').value.trim(), password: $('#password').value });
        state.token = ans.token;
        state.operator = ans.operator;
        sessionStorage.setItem(TOKEN_KEY, ans.token);
        sessionStorage.setItem(OPERATOR_KEY, JSON.stringify(ans.operator));
        $('#password').value = '';
        app.start();
      } catch (e) {
        err.textContent = e.message;
      } finally {
        btn.disabled = false;
      }
    },

    /** Ends the sign-in on the server too, then here. */
    async logout() {
      try { await api.call('POST', '/auth/logout'); } catch (_) { /* signed out either way */ }
      this.signOut();
    },

    signOut(message) {
      app.stop();
      state.token = null;
      state.operator = null;
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(OPERATOR_KEY);
      this.showLogin(message ? `Signed out: ${message}` : '');
    },

    showLogin(message) {
      $('#app').hidden = true;
      $('#login-screen').hidden = false;
      $('#login-error').textContent = message || '';
      $('#login').focus();
    },
  };

  // ===================================================================
  // feed: the hall WebSocket, with a polling fallback while it is down
  // ===================================================================
  const feed = {
    ws: null,
    running: false,
    live: false,
    awaitingSnapshot: true,
    lastSeq: null,
    attempt: 0,
    retryTimer: null,
    pollTimer: null,

    start() {
      this.running = true;
      this.lastSeq = null;
      this.attempt = 0;
      this.setLive(false);
      this.startPolling();
      this.connect();
    },

    stop() {
      this.running = false;
      clearTimeout(this.retryTimer);
      this.stopPolling();
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try { ws.close(); } catch (_) { /* already closed */ }
      }
      this.setLive(false);
    },

    url() {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${proto}//${location.host}/api/v1/hall/ws?token=${encodeURIComponent(state.token)}`;
    },

    connect() {
      if (!this.running) return;
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (_) {
        this.retry();
        return;
      }
      this.ws = ws;
      this.awaitingSnapshot = true;
      ws.onopen = () => {
        if (this.ws !== ws) return;
        this.setLive(true);
        this.stopPolling();
      };
      ws.onmessage = (m) => {
        if (this.ws === ws) this.receive(m.data);
      };
      ws.onerror = () => { /* a close follows */ };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.setLive(false);
        if (this.running) {
          this.startPolling();
          this.retry();
        }
      };
    },

    /** Backoff: 1 s doubling to 10 s, each with ±25% jitter (never above 10 s). */
    retry() {
      clearTimeout(this.retryTimer);
      const base = Math.min(10000, 1000 * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 8);
      const delay = Math.min(10000, base * (0.75 + Math.random() * 0.5));
      this.retryTimer = setTimeout(() => this.connect(), delay);
    },

    receive(raw) {
      let msg;
      try { msg = JSON.parse(raw); } catch (_) { return; }
      if (msg.type === 'snapshot') {
        this.lastSeq = msg.seq;
        this.awaitingSnapshot = false;
        this.attempt = 0;
        hall.applySnapshot(msg.hall);
      } else if (msg.type === 'event') {
        if (this.awaitingSnapshot) return;
        if (msg.seq !== this.lastSeq + 1) {
          // A gap: ask for a fresh snapshot and ignore events until it comes.
          this.awaitingSnapshot = true;
          this.send({ type: 'resync' });
          return;
        }
        this.lastSeq = msg.seq;
        hall.applyEvent(msg.event);
      } else if (msg.type === 'error') {
        $('#feed-status').title = msg.message || '';
      }
    },

    send(obj) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
    },

    setLive(live) {
      this.live = live;
      const el = $('#feed-status');
      el.textContent = live ? 'live' : 'reconnecting…';
      el.parentElement.classList.toggle('live', live);
    },

    startPolling() {
      if (this.pollTimer) return;
      this.pollTimer = setInterval(() => hall.refresh(), POLL_MS);
      hall.refresh();
    },

    stopPolling() {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    },
  };

  // ===================================================================
  // hall map
  // ===================================================================
  const hall = {
    /** GET /hall, used while the feed is down (and right after an action then). */
    async refresh() {
      if (feed.live || !state.token) return;
      try {
        const snap = await api.get('/hall');
        if (!feed.live && state.token) this.applySnapshot(snap);
      } catch (_) {
        // 401 signs out in api; otherwise keep the last picture and try again later.
      }
    },

    applySnapshot(snap) {
      const diff = Date.parse(snap.at) - Date.now();
      state.skew = Number.isFinite(diff) && Math.abs(diff) > 2000 ? diff : 0;
      state.zones = snap.zones || [];
      state.devices = new Map((snap.devices || []).map((d) => [d.id, d]));
      state.hallLoaded = true;
      this.render();
      card.onHall();
    },

    applyEvent(ev) {
      let relayout = false;
      for (const d of ev.devices || []) {
        const old = state.devices.get(d.id);
        state.devices.set(d.id, d);
        if (!old || old.zone_id !== d.zone_id || old.x !== d.x || old.y !== d.y) relayout = true;
        else this.replaceTile(d);
      }
      if (relayout) this.render();
      this.renderSummary();
      card.onEvent(ev);
      clientsView.onEvent(ev);
      if (ev.kind === 'tariff_changed') tariffsView.onChanged();
    },

    render() {
      const root = $('#hall');
      const active = document.activeElement;
      const focusedId = active && root.contains(active) && active.dataset ? Number(active.dataset.deviceId) : null;
      for (const id of [...state.tiles.keys()]) if (!state.devices.has(id)) state.tiles.delete(id);
      const groups = new Map(state.zones.map((z) => [z.id, []]));
      for (const d of state.devices.values()) {
        if (!groups.has(d.zone_id)) groups.set(d.zone_id, []);
        groups.get(d.zone_id).push(d);
      }
      const sections = [];
      for (const [zoneId, list] of groups) {
        list.sort((a, b) => a.y - b.y || a.x - b.x || a.id - b.id);
        const cols = Math.max(1, ...list.map((d) => Math.max(0, d.x) + 1));
        const grid = h('div', { class: 'zone-grid' });
        grid.style.gridTemplateColumns = `repeat(${cols}, var(--tile-w))`;
        const taken = new Set();
        for (const d of list) {
          const tile = this.tile(d);
          const cell = `${d.x},${d.y}`;
          // Two PCs on one cell: the second is auto-placed in a free cell.
          const free = !taken.has(cell);
          taken.add(cell);
          tile.style.gridColumn = free ? String(Math.max(0, d.x) + 1) : '';
          tile.style.gridRow = free ? String(Math.max(0, d.y) + 1) : '';
          grid.append(tile);
        }
        sections.push(h('section', { class: 'zone', 'data-zone-id': zoneId },
          h('h2', { class: 'zone-title' }, zoneName(zoneId), h('span', { class: 'muted' }, `${list.length} PC${list.length === 1 ? '' : 's'}`)),
          list.length ? grid : h('p', { class: 'muted' }, 'No PCs in this zone.')));
      }
      const empty = state.hallLoaded ? 'No PCs yet.' : 'Loading the hall…';
      clear(root, sections.length ? sections : h('p', { class: 'empty' }, empty));
      if (focusedId && state.tiles.has(focusedId)) state.tiles.get(focusedId).focus();
      this.renderSummary();
    },

    /** The PC's tile element (kept for the PC's lifetime, so references to it stay valid), filled from `d`. */
    tile(d) {
      let el = state.tiles.get(d.id);
      if (!el) {
        const id = d.id;
        el = h('button', { type: 'button', class: 'tile', 'data-device-id': id, onclick: () => card.open(id) });
        state.tiles.set(id, el);
      }
      this.fill(el, d);
      return el;
    },

    fill(el, d) {
      const t = now();
      const st = deviceState(d, t);
      const s = d.session;
      const live = s && s.status !== 'PENDING' ? s : null;
      const next = s && s.status === 'PENDING' ? s : (d.reservations || [])[0];
      const cls = ['tile', 'st-' + st];
      const sessSt = s && !d.online ? sessionState(s, t) : null;
      if (sessSt) cls.push('ss-' + sessSt);
      if (!d.enabled) cls.push('disabled');
      if (card.deviceId === d.id) cls.push('selected');

      const chips = [chip(st, st)];
      if (sessSt) chips.unshift(chip(sessSt, sessSt));
      if (!d.enabled) chips.push(chip('muted', 'disabled'));
      // The agent went silent during a started session: an alarm, not "offline".
      const alarm = (d.alerts || []).includes('offline_while_playing');
      if (alarm) cls.push('alarm');

      const lines = [];
      if (alarm) lines.push(h('span', { class: 'tile-alarm', title: 'The agent went silent during a started session' }, '⚠ offline while playing'));
      if (d.command && d.command.state !== 'done') lines.push(h('span', { class: 'tile-command cmd-' + d.command.state, title: commandText(d.command) }, commandText(d.command)));
      if (live) {
        lines.push(h('span', { class: 'tile-client' }, live.client_name));
        const plan = tariffPlan(live.segments, t);
        lines.push(h('span', { class: 'tile-tariff' }, plan.current ? plan.current.tariff_name : live.tariff_name));
        if (plan.queued.length) lines.push(h('span', { class: 'tile-queued', title: 'Added time, after the current tariff' }, queuedText(plan)));
        el.dataset.tariff = plan.current ? plan.current.tariff_name : live.tariff_name;
        if (live.status === 'STARTED' && live.ends_at) {
          lines.push(h('span', { class: 'tile-timer', 'data-ends-at': live.ends_at }, fmtCountdown(Date.parse(live.ends_at) - t)));
        } else if (live.status === 'ACTIVE') {
          lines.push(h('span', { class: 'tile-note' }, 'waiting for Start'));
        }
      }
      if (next) {
        lines.push(h('span', { class: 'tile-next' }, `next ${fmtTime(next.planned_start_at)}`, live ? null : ` · ${next.client_name}`));
      }
      if (d.online && d.metrics) {
        for (const p of d.metrics.problems || []) lines.push(h('span', { class: 'tile-problem', title: p }, `⚠ ${p}`));
        lines.push(h('span', { class: 'tile-metrics' }, metricsText(d.metrics)));
      } else if (!d.online) {
        const seen = d.last_seen_at ? `seen ${fmtDateTime(d.last_seen_at)}` : d.enrolled ? 'never connected' : 'not enrolled';
        lines.push(h('span', { class: 'tile-metrics' }, seen));
      }

      if (!live) delete el.dataset.tariff;
      el.className = cls.join(' ');
      el.dataset.state = st;
      if (alarm) el.dataset.alert = 'offline_while_playing';
      else delete el.dataset.alert;
      clear(el, h('span', { class: 'tile-top' }, h('span', { class: 'tile-name' }, d.name), h('span', { class: 'tile-chips' }, chips)), lines);
    },

    /** The feed replaced this PC's view: redraw its tile from it. */
    replaceTile(d) {
      const el = state.tiles.get(d.id);
      if (!el || !el.isConnected) this.render();
      else this.fill(el, d);
    },

    markSelected() {
      for (const [id, tile] of state.tiles) tile.classList.toggle('selected', id === card.deviceId);
    },

    renderSummary() {
      const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
      const t = now();
      for (const d of state.devices.values()) counts[deviceState(d, t)] += 1;
      clear($('#hall-summary'),
        STATES.map((s) => h('span', { class: 'legend' }, h('span', { class: 'dot dot-' + s }), `${s} ${counts[s]}`)),
        h('span', { class: 'muted legend-total' }, `${state.devices.size} PCs`));
    },

    /** Every second: countdowns, playing -> ending, the summary. */
    tick() {
      const t = now();
      for (const el of $$('[data-ends-at]')) el.textContent = fmtCountdown(Date.parse(el.dataset.endsAt) - t);
      for (const d of state.devices.values()) {
        const tile = state.tiles.get(d.id);
        // A state change, or a queued tariff's turn: the tile is redrawn.
        const plan = d.session ? tariffPlan(d.session.segments, t) : null;
        const tariff = plan && plan.current ? plan.current.tariff_name : undefined;
        if (tile && (tile.dataset.state !== deviceState(d, t) || (d.session && tile.dataset.tariff !== tariff))) this.replaceTile(d);
      }
      this.renderSummary();
      card.tick();
    },
  };

  // ===================================================================
  // session card: the side panel for one PC
  // ===================================================================
  function noteFor(v, sid, deviceId) {
    if (!v) return { sid, text: `Session #${sid} is no longer on this PC.` };
    if (v.status === 'ENDED') {
      const total = v.receipt ? ` · receipt total ${fmtMoney(v.receipt.total)}` : '';
      return { sid: v.id, text: `Session #${v.id} (${v.client_name}) ended${total}.` };
    }
    if (v.status === 'CANCELLED') return { sid: v.id, text: `Session #${v.id} (${v.client_name}) was cancelled.` };
    if (v.status === 'PENDING' && v.device_id === deviceId) {
      return { sid: v.id, text: `Reservation #${v.id} for ${v.client_name} at ${fmtDateTime(v.planned_start_at)} is booked.` };
    }
    if (v.device_id !== deviceId) {
      return { sid: v.id, text: `Session #${v.id} (${v.client_name}) moved to ${deviceName(v.device_id)}.`, deviceId: v.device_id };
    }
    return { sid: v.id, text: `Session #${v.id} is no longer on this PC.` };
  }

  function segmentsTable(segments) {
    const plan = tariffPlan(segments);
    const mark = (g) => g === plan.current ? ' (current)' : plan.queued.includes(g) ? ' (queued)' : null;
    return table(['Tariff', 'Policy', 'Starts', 'Ends', 'Used'], segments.map((g) => h('tr', { class: g.closed_at ? 'closed' : plan.queued.includes(g) ? 'queued' : null },
      td([g.tariff_name, mark(g) ? h('span', { class: 'muted' }, mark(g)) : null]),
      td(POLICY_LABEL[g.refund_policy] || g.refund_policy),
      td(timeEl(g.starts_at)),
      td(timeEl(g.closed_at || g.ends_at)),
      num(fmtDuration(g.seconds_used)))), 'No segments.');
  }

  function correctionsTable(list) {
    return table(['Amount', 'Reason', 'At', 'By'], list.map((c) => h('tr', null,
      num(h('span', { class: c.delta < 0 ? 'neg' : 'pos' }, fmtSigned(c.delta))),
      td(c.reason), td(timeEl(c.at)), num(c.operator_id != null ? `#${c.operator_id}` : '—'))), 'No price corrections.');
  }

  function receiptBlock(r) {
    return h('div', { class: 'receipt' },
      table(['Tariff', 'Used', 'Amount'], r.lines.map((l) => h('tr', null, td(l.tariff_name), num(fmtDuration(l.seconds_used)), num(fmtMoney(l.amount))))),
      kv([
        ['Corrections', fmtSigned(r.corrections)],
        ['Total', h('strong', null, fmtMoney(r.total))],
        ['End', `${r.end_kind} at `, timeEl(r.ended_at)],
      ].map(([k, ...v]) => [k, v])));
  }

  function previewBlock(p) {
    const rows = p.outcomes.map((o) => h('tr', null,
      td(o.tariff_name),
      td(o.refund_policy ? POLICY_LABEL[o.refund_policy] || o.refund_policy : '—'),
      num(fmtDuration(o.seconds_used)),
      num(fmtDuration(o.kept_seconds)),
      num(fmtMoney(o.bonus)),
      num(fmtMoney(o.burned))));
    const tbl = table(['Tariff', 'Policy', 'Used', 'Kept', 'Bonus', 'Burned'], rows, 'No tariff time to settle.');
    tbl.append(h('tfoot', null, h('tr', null,
      h('th', { colspan: 3 }, 'Total'),
      num(fmtDuration(p.kept_seconds_total)), num(fmtMoney(p.bonus_total)), num(fmtMoney(p.burned_total)))));
    const parts = [];
    if (p.kept_seconds_total) parts.push(`${fmtDuration(p.kept_seconds_total)} stays on the client's holdings`);
    if (p.bonus_total) parts.push(`${fmtMoney(p.bonus_total)} goes to the client's bonus`);
    if (p.burned_total) parts.push(`${fmtMoney(p.burned_total)} is burned`);
    return [
      tbl,
      h('p', { class: 'summary' }, parts.length ? parts.join('; ') + '.' : 'Nothing is refunded.'),
      p.receipt ? h('p', { class: 'summary' }, 'Receipt total: ', h('strong', { class: 'receipt-total' }, fmtMoney(p.receipt.total))) : null,
    ];
  }

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
    const bonus = h('input', { id: 'create-bonus', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
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
    const bonus = h('input', { id: 'add-tariff-bonus', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
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

  // ===================================================================
  // clients
  // ===================================================================
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

      const forms = [];
      if (can('BalanceTopUp')) {
        const amount = h('input', { id: 'topup-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
        const method = h('select', { id: 'topup-method' }, h('option', { value: 'cash' }, 'cash'), h('option', { value: 'card' }, 'card'));
        const topup = h('form', { id: 'topup-form', class: 'mini-form', novalidate: true },
          h('h3', null, 'Top up'),
          h('div', { class: 'row' }, field('Amount', amount), field('Method', method), h('button', { id: 'topup-submit', type: 'submit', class: 'primary' }, 'Top up')));
        onSubmit(topup, async () => {
          const value = parseMoney(amount.value, 'amount');
          if (!value) throw new InputError('amount: enter an amount, e.g. 50.00');
          const updated = await api.post(`/clients/${c.id}/top-ups`, { amount: value, method: method.value });
          amount.value = '';
          this.current = updated;
          setOk(topup, `Added ${fmtMoney(value)} (${method.value}). Balance ${fmtMoney(updated.balance)}.`);
          this.replaceRow(updated);
          await this.reload();
        });

        const tariff = h('select', { id: 'purchase-tariff' });
        const bonus = h('input', { id: 'purchase-bonus', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
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
        const purchase = h('form', { id: 'purchase-form', class: 'mini-form', novalidate: true },
          h('h3', null, 'Sell a tariff'),
          field('Tariff', tariff),
          h('div', { class: 'row' }, field('Bonus to spend', bonus), h('button', { id: 'purchase-submit', type: 'submit', class: 'primary' }, 'Sell')),
          info);
        onSubmit(purchase, async () => {
          if (!tariff.value) throw new InputError('tariff_id: choose a tariff');
          const holding = await api.post(`/clients/${c.id}/purchases`, {
            tariff_id: Number(tariff.value),
            bonus_amount: parseMoney(bonus.value, 'bonus_amount') || 0,
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
        p.summary, autoRow, forms,
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

  // ===================================================================
  // sessions report
  // ===================================================================
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

  // ===================================================================
  // tariffs
  // ===================================================================
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
      return (this.zones.find((z) => z.id === id) || {}).name || zoneName(id);
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
        h('input', { type: 'checkbox', value: z.id, id: `tariff-zone-${z.id}`, checked: checked.includes(z.id) }), ` ${z.name}`)));
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

  // ===================================================================
  // roles
  // ===================================================================
  const rolesView = {
    roles: [],

    async show() {
      const box = $('#roles-matrix');
      if (!can('RoleManage')) {
        clear(box, h('p', { class: 'muted' }, 'Role settings need the RoleManage permission.'));
        return;
      }
      try {
        this.roles = await api.get('/roles');
        this.render();
      } catch (err) {
        setError(box, err);
      }
    },

    reset() {
      this.roles = [];
      clear($('#roles-matrix'));
    },

    render() {
      const head = h('tr', null, h('th', null, 'Permission'),
        this.roles.map((r) => h('th', { class: 'center' }, r.name, r.builtin ? h('div', { class: 'muted small-text' }, 'built-in') : null)));
      const rows = PERMISSIONS.map((perm) => h('tr', null, h('th', { scope: 'row' }, perm),
        this.roles.map((r) => h('td', { class: 'center' }, h('input', {
          type: 'checkbox',
          'data-role-id': r.id,
          'data-permission': perm,
          checked: r.permissions.includes(perm),
          'aria-label': `${r.name}: ${perm}`,
        })))));
      const foot = h('tr', null, h('th', null, ''), this.roles.map((r) => {
        const cell = h('td', { class: 'center save-cell' });
        cell.append(h('button', { type: 'button', id: `role-save-${r.id}`, class: 'primary small', onclick: () => this.save(r, cell) }, `Save ${r.name}`));
        return cell;
      }));
      clear($('#roles-matrix'), h('table', { class: 'grid matrix' }, h('thead', null, head), h('tbody', null, rows), h('tfoot', null, foot)));
    },

    async save(role, cell) {
      const perms = $$(`#roles-matrix input[data-role-id="${role.id}"]`).filter((x) => x.checked).map((x) => x.dataset.permission);
      const btn = cell.querySelector('button');
      btn.disabled = true;
      setMsg(cell, null);
      try {
        const updated = await api.put(`/roles/${role.id}`, { permissions: perms });
        Object.assign(role, updated);
        setOk(cell, 'Saved');
        if (state.operator && state.operator.role_id === updated.id) {
          state.operator.permissions = updated.permissions;
          sessionStorage.setItem(OPERATOR_KEY, JSON.stringify(state.operator));
          applyPermissions();
        }
      } catch (err) {
        setError(cell, err);
      } finally {
        btn.disabled = false;
      }
    },
  };

  // ===================================================================
  // shift: the till (open with the float, X report, close with the count)
  // ===================================================================
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
      h('div', { class: 'row no-print' }, h('button', { type: 'button', class: 'print', onclick: () => printReport(r.shift_id) }, 'Print')));
  }

  /** Prints one report: the page's print CSS shows only the marked one. */
  function printReport(id) {
    for (const el of $$('.shift-report')) el.classList.toggle('printing', el.id === `shift-report-${id}`);
    document.body.classList.add('print-report');
    window.print();
    document.body.classList.remove('print-report');
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
        const float = h('input', { id: 'shift-opening-cash', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
        const form = h('form', { id: 'shift-open-form', class: 'pane-form narrow', novalidate: true },
          h('h3', null, 'Open your shift'),
          h('p', { class: 'hint' }, 'Count the cash in the till first: the float is where the till starts. Cash and card payments need an open shift.'),
          field('Cash float counted', float),
          h('div', { class: 'row' }, h('button', { id: 'shift-open-submit', type: 'submit', class: 'primary' }, 'Open shift')));
        onSubmit(form, async () => {
          const cash = parseMoney(float.value, 'opening_cash');
          if (cash == null) throw new InputError('opening_cash: count the cash in the till (0.00 if empty)');
          await api.post('/shifts/open', { opening_cash: cash });
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

  // ===================================================================
  // audit
  // ===================================================================
  const auditView = {
    run: null,

    init() {
      this.run = onSubmit($('#audit-filter'), () => this.load());
    },

    show() {
      this.run();
    },

    reset() {
      clear($('#audit-list'));
    },

    async load() {
      const params = {
        session_id: parseId($('#audit-session').value, 'session_id'),
        operator_id: parseId($('#audit-operator').value, 'operator_id'),
      };
      const list = await api.get('/audit' + qs(params));
      clear($('#audit-list'), auditTable(list));
    },
  };

  // ===================================================================
  // views & boot
  // ===================================================================
  const VIEWS = {
    hall: { perm: null, show() {} },
    clients: { perm: null, show: () => clientsView.show() },
    sessions: { perm: 'ReportView', show: () => sessionsView.show() },
    shift: { perm: 'ShiftManage', show: () => shiftView.show().catch((err) => clear($('#shift-current'), h('p', { class: 'error', role: 'alert' }, err.message))) },
    tariffs: { perm: null, show: () => tariffsView.show() },
    roles: { perm: 'RoleManage', show: () => rolesView.show() },
    audit: { perm: 'ReportView', show: () => auditView.show() },
  };

  const allowed = (name) => !!VIEWS[name] && (!VIEWS[name].perm || can(VIEWS[name].perm));

  function showView(name) {
    if (!allowed(name)) name = 'hall';
    state.view = name;
    for (const n of Object.keys(VIEWS)) {
      $('#view-' + n).hidden = n !== name;
      const btn = $('#nav-' + n);
      btn.classList.toggle('active', n === name);
      if (n === name) btn.setAttribute('aria-current', 'page');
      else btn.removeAttribute('aria-current');
    }
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
    VIEWS[name].show();
  }

  function viewFromHash() {
    const name = location.hash.replace(/^#/, '');
    return allowed(name) ? name : 'hall';
  }

  function applyPermissions() {
    for (const el of $$('[data-perm]')) el.hidden = !can(el.dataset.perm);
    if (!allowed(state.view)) showView('hall');
    if (card.el) {
      card.actionsKey = '';
      card.reservationsKey = '';
      card.render();
    }
  }

  const app = {
    start() {
      $('#login-screen').hidden = true;
      $('#app').hidden = false;
      $('#operator').textContent = `${state.operator.login} · ${state.operator.role}`;
      state.view = 'hall';
      applyPermissions();
      hall.render();
      feed.start();
      loadTariffs().catch(() => {});
      showView(viewFromHash());
    },

    stop() {
      feed.stop();
      card.close();
      state.devices = new Map();
      state.tiles = new Map();
      state.zones = [];
      state.tariffs = [];
      state.hallLoaded = false;
      clear($('#hall'));
      clear($('#hall-summary'));
      clientsView.reset();
      sessionsView.reset();
      tariffsView.reset();
      rolesView.reset();
      auditView.reset();
      shiftView.reset();
    },
  };

  function boot() {
    for (const name of Object.keys(VIEWS)) $('#nav-' + name).addEventListener('click', () => showView(name));
    window.addEventListener('hashchange', () => {
      if (state.token) showView(viewFromHash());
    });
    document.addEventListener('keydown', (e) => {
      // Esc outside the card (e.g. on a tile) closes it too.
      if (e.key === 'Escape' && card.el && state.view === 'hall' && !card.el.contains(e.target)) card.close();
    });
    clientsView.init();
    sessionsView.init();
    tariffsView.init();
    auditView.init();
    shiftView.init();
    setInterval(() => {
      if (state.token) hall.tick();
    }, 1000);
    window.clubhall = {
      token: () => state.token,
      hall: () => Array.from(state.devices.values()),
      lastSeq: () => feed.lastSeq,
    };
    auth.init();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
