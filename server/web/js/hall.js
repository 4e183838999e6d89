/* The hall map: tiles by zone, live. */
import { api } from './api.js';
import { card } from './card.js';
import { clientsView } from './clients.js';
import { feed } from './feed.js';
import { mapEdit } from './map-edit.js';
import { commandText } from './panes.js';
import { can, deviceState, now, queuedText, sessionState, state, tariffPlan, zoneTitle } from './state.js';
import { tariffsView } from './tariffs.js';
import { $, $$, STATES, chip, clear, fmtCountdown, fmtDateTime, fmtTime, h, metricsText } from './util.js';

const hall = {
  /** GET /hall, used while the feed is down (and right after an action then). */
  async refresh() {
    if (feed.live || !state.token) return;
    try {
      const snap = await api.get('/hall');
      if (!feed.live && state.token) this.applySnapshot(snap);
      feed.setReachable(true);
    } catch (_) {
      // 401 signs out in api; otherwise the picture is stale: say so, and
      // try again later.
      feed.setReachable(false);
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
      // Arranging, the grid has a free column and row to move PCs into.
      const spare = mapEdit.on ? 1 : 0;
      const cols = Math.max(1, ...list.map((d) => Math.max(0, d.x) + 1)) + spare;
      const rows = Math.max(1, ...list.map((d) => Math.max(0, d.y) + 1)) + spare;
      const grid = h('div', { class: 'zone-grid' });
      grid.style.gridTemplateRows = `repeat(${rows}, minmax(108px, auto))`;
      // The map's columns narrow (down to a readable tile) before the hall
      // scrolls sideways: an open card does not push tiles out of sight.
      grid.style.gridTemplateColumns = `repeat(${cols}, minmax(var(--tile-min), var(--tile-w)))`;
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
        h('h2', { class: 'zone-title' }, zoneTitle(zoneId), h('span', { class: 'muted' }, `${list.length} PC${list.length === 1 ? '' : 's'}`)),
        list.length ? grid : h('p', { class: 'muted' }, 'No PCs in this zone.')));
    }
    // A fresh install: say where PCs are added.
    const empty = !state.hallLoaded ? 'Loading the hall…'
      : can('DeviceManage') ? ['No PCs yet. ', h('a', { id: 'hall-setup-link', href: '#setup' }, 'Add zones and PCs in Set-up'), '.']
        : 'No PCs yet: ask the club owner to add them in Set-up.';
    const noPcs = !state.devices.size;
    clear(root, sections.length && !noPcs ? sections : [h('p', { class: 'empty' }, empty), noPcs ? null : sections]);
    if (focusedId && state.tiles.has(focusedId)) state.tiles.get(focusedId).focus();
    this.renderSummary();
  },

  /** The PC's tile element (kept for the PC's lifetime, so references to it stay valid), filled from `d`. */
  tile(d) {
    let el = state.tiles.get(d.id);
    if (!el) {
      const id = d.id;
      el = h('button', { type: 'button', class: 'tile', 'data-device-id': id, onclick: () => { if (!mapEdit.on) card.open(id); } });
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
    el.dataset.x = d.x;
    el.dataset.y = d.y;
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
      h('span', { class: 'muted legend-total' }, `${state.devices.size} PCs`),
      can('DeviceManage') ? (this.arrangeButton ||= mapEdit.button(() => { this.arrangeButton = null; this.render(); })) : null);
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

export { hall };
