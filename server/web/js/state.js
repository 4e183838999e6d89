/* What the page knows: the operator, the hall, the tariffs; session and tile states. */
import { api } from './api.js';
import { ENDING_MS, byName, fmtDuration, fmtMoney, h, setOptions } from './util.js';

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
  clubs: [], // the clubs this operator sees: one in a single club
};

/** Tariffs are the chain's: a club's own staff read them, the chain's change them. */
const CHAIN_ONLY = ['TariffManage'];
const can = (perm) => !!(state.operator && (state.operator.permissions || []).includes(perm))
  && (!CHAIN_ONLY.includes(perm) || state.operator.club_id == null);
const now = () => Date.now() + state.skew;
const activeTariffs = () => state.tariffs.filter((t) => t.active).sort(byName);
const tariffById = (id) => state.tariffs.find((t) => String(t.id) === String(id));
const tariffName = (id) => (tariffById(id) || {}).name || `tariff #${id}`;
const deviceName = (id) => (state.devices.get(id) || {}).name || `PC #${id}`;
const zoneName = (id) => (state.zones.find((z) => z.id === id) || {}).name || `Zone #${id}`;
/** Whether the page shows several clubs: the chain's staff of a chain. */
const manyClubs = () => state.clubs.length > 1;
/** The chain's staff (an operator of no club) set up what every club shares. */
const chainStaff = () => !!state.operator && state.operator.club_id == null;
const clubName = (id) => (state.clubs.find((k) => k.id === id) || {}).name || `Club #${id}`;

/** The clubs this operator sees (none if they cannot be read). */
async function loadClubs() {
  try {
    return await api.get('/clubs');
  } catch (_) {
    return [];
  }
}

/**
 * A club choice for the chain's staff of a chain (null otherwise); with
 * `every`, "every club" (the chain's staff, value '') comes last.
 */
function clubSelect(id, label, every = false) {
  if (!chainStaff() || !manyClubs()) return null;
  return h('select', { id, 'aria-label': label }, [...state.clubs].sort(byName).map((k) => h('option', { value: k.id }, k.name)),
    every ? h('option', { value: '' }, 'Every club (the chain\'s staff)') : null);
}

/** A zone's name, with its club's when the page shows several. */
function zoneLabel(z) {
  return manyClubs() ? `${clubName(z.club_id)} · ${z.name}` : z.name;
}

/** The same by the zone's id. */
function zoneTitle(id) {
  const zone = state.zones.find((z) => z.id === id);
  return zone ? zoneLabel(zone) : zoneName(id);
}

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
/** The club settings the page uses (the confirmation threshold). */
async function loadSettings() {
  try {
    state.settings = await api.get('/settings');
  } catch (_) {
    state.settings = null;
  }
}

/** Over the club's threshold: a payment to confirm first. */
const overThreshold = (amount) => amount > ((state.settings && state.settings.confirm_above) ?? 100_00);

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

export { activeTariffs, bonusCap, can, capText, chainStaff, clubName, clubSelect, deviceName, deviceState, fillTariffs, loadClubs, loadSettings, loadTariffs, manyClubs, now, overThreshold, queuedText, sessionState, state, tariffById, tariffName, tariffOption, tariffPlan, tariffsLoading, zoneLabel, zoneName, zoneTitle };
