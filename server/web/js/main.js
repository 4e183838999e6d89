/* Clubhall operator page: views and boot. Native ES modules, no build step, no
 * dependencies; server strings only ever reach the page as text nodes (see
 * h() in util.js), nothing is written with innerHTML. */
import { auth } from './api.js';
import { auditView } from './audit.js';
import { card } from './card.js';
import { clientsView } from './clients.js';
import { feed } from './feed.js';
import { hall } from './hall.js';
import { mapEdit } from './map-edit.js';
import { ordersView } from './orders.js';
import { rolesView } from './roles.js';
import { sessionsView } from './sessions.js';
import { setupView } from './setup.js';
import { shiftView } from './shift.js';
import { can, clubName, loadClubs, loadSettings, loadTariffs, manyClubs, state } from './state.js';
import { tariffsView } from './tariffs.js';
import { $, $$, clear, h } from './util.js';

const VIEWS = {
  hall: { perm: null, show() {} },
  clients: { perm: null, show: () => clientsView.show() },
  sessions: { perm: 'ReportView', show: () => sessionsView.show() },
  shift: { perm: 'ShiftManage', show: () => shiftView.show().catch((err) => clear($('#shift-current'), h('p', { class: 'error', role: 'alert' }, err.message))) },
  orders: { perm: 'ReportView', show: () => ordersView.show() },
  setup: { perm: null, show: () => setupView.show() },
  tariffs: { perm: null, show: () => tariffsView.show() },
  roles: { perm: 'RoleManage', show: () => rolesView.show() },
  audit: { perm: 'ReportView', show: () => auditView.show() },
};

const allowed = (name) => !!VIEWS[name] && (!VIEWS[name].perm || can(VIEWS[name].perm));

// The clubs, read once an operator signs in: a view is drawn once they are
// known (its club choices, Set-up's list of clubs), and never drawn again
// for them, so nothing typed into it is lost. Each sign-in has its number:
// a reading from an earlier one is dropped.
let clubsKnown = false;
let signIn = 0;

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
  // Before, the view waits: it is drawn once they are read (in `start`).
  if (clubsKnown) VIEWS[name].show();
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
    delete $('#operator').dataset.club;
    state.view = 'hall';
    applyPermissions();
    hall.render();
    feed.start();
    loadTariffs().catch(() => {});
    loadSettings();
    // A club's staff see their club's name beside theirs; a chain's zones
    // carry their club's name.
    clubsKnown = false;
    const mine = ++signIn;
    loadClubs().then((clubs) => {
      if (mine !== signIn) return;
      state.clubs = clubs;
      clubsKnown = true;
      if (state.operator.club_id != null) {
        const club = clubName(state.operator.club_id);
        $('#operator').textContent = `${state.operator.login} · ${state.operator.role} · ${club}`;
        $('#operator').dataset.club = club;
      }
      // The hall, drawn at once, is drawn again with its zones' clubs;
      // any other view is drawn now, once.
      if (manyClubs()) hall.render();
      VIEWS[state.view].show();
    });
    showView(viewFromHash());
  },

  stop() {
    signIn += 1;
    clubsKnown = false;
    feed.stop();
    card.close();
    state.devices = new Map();
    state.tiles = new Map();
    state.zones = [];
    state.clubs = [];
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
    ordersView.reset();
    setupView.reset();
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
  ordersView.init();
  // Arranging the map: a PC dropped on a new cell is stored, and redrawn.
  mapEdit.attach($('#hall'), (err) => {
    hall.render();
    if (err) $('#hall').prepend(h('p', { class: 'error', role: 'alert' }, err.message));
  });
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

export { VIEWS, allowed, app, applyPermissions, boot, showView, viewFromHash };
