/* Set-up: zones and PCs (add a PC and read its enrollment code with the
 * commands to run on it, a fresh code, rename, disable), the club's
 * settings, and one's own password. Staff are in staff.js. */
import { api } from './api.js';
import { staffView } from './staff.js';
import { can, chainStaff, clubSelect, loadSettings, manyClubs, state, zoneLabel, zoneTitle } from './state.js';
import {
  $, InputError, byName, clear, field, fmtDateTime, fmtMoney, h, num, onSubmit, parseCount, parseMoney, setOk, table, td,
} from './util.js';

/** A fresh enrollment code with the exact commands to run on the PC. */
function codeBlock(c) {
  const cmd = (label, text) => text ? h('div', { class: 'cmd' }, h('small', { class: 'hint' }, label), h('code', { class: 'cmd-text' }, text)) : null;
  return h('div', { class: 'enroll-code', 'data-device-id': c.device_id ?? c.id },
    h('p', null, 'Enrollment code ', h('strong', { class: 'code' }, c.enrollment_code), ` · valid until ${fmtDateTime(c.enrollment_expires_at)}`),
    cmd('Windows, in an elevated PowerShell beside install-agent.ps1:', c.install_command_windows),
    cmd('Linux, beside install-agent.sh:', c.install_command_linux),
    cmd('Or the agent alone:', c.agent_command));
}

const setupView = {
  show() {
    const parts = [];
    if (can('DeviceManage')) parts.push(this.hallPart());
    // A single club needs none of this; a chain adds its clubs here.
    if (can('RoleManage') && chainStaff()) parts.push(this.clubsPart());
    // Settings are the chain's: a club's own staff leave them alone.
    if (can('RoleManage') && chainStaff()) parts.push(this.settingsPart());
    if (can('RoleManage')) parts.push(staffView.part());
    parts.push(this.passwordPart());
    clear($('#setup-body'), parts);
  },

  reset() {
    clear($('#setup-body'));
  },

  hallPart() {
    const box = h('section', { id: 'setup-hall', class: 'setup-part' }, h('h2', null, 'Zones and PCs'));
    const zoneNameInput = h('input', { id: 'zone-name', maxlength: '60', autocomplete: 'off' });
    const zoneClub = clubSelect('zone-club', 'Club of the new zone');
    const zoneForm = h('form', { id: 'zone-form', class: 'toolbar', novalidate: true },
      field('New zone', zoneNameInput), zoneClub ? field('Club', zoneClub) : null,
      h('button', { id: 'zone-submit', type: 'submit' }, 'Add zone'));
    onSubmit(zoneForm, async () => {
      const body = { name: zoneNameInput.value.trim() };
      if (zoneClub) body.club_id = Number(zoneClub.value);
      const z = await api.post('/zones', body);
      state.zones = [...state.zones, z];
      zoneNameInput.value = '';
      this.show();
    });

    const pcName = h('input', { id: 'pc-name', maxlength: '60', autocomplete: 'off' });
    const pcZone = h('select', { id: 'pc-zone' }, [...state.zones].sort(byName).map((z) => h('option', { value: z.id }, zoneLabel(z))));
    const pcForm = h('form', { id: 'pc-form', class: 'toolbar', novalidate: true },
      field('New PC', pcName), field('Zone', pcZone), h('button', { id: 'pc-submit', type: 'submit', class: 'primary', disabled: !state.zones.length }, 'Add PC'));
    const codes = h('div', { id: 'setup-code' });
    onSubmit(pcForm, async () => {
      if (!pcZone.value) throw new InputError('zone_id: add a zone first');
      // A new PC goes to the end of its zone's row on the map.
      const inZone = [...state.devices.values()].filter((d) => String(d.zone_id) === pcZone.value);
      const x = inZone.reduce((m, d) => Math.max(m, d.x + 1), 0);
      const created = await api.post('/devices', { name: pcName.value.trim(), zone_id: Number(pcZone.value), x, y: 0 });
      pcName.value = '';
      clear(codes, h('h3', null, `PC ${created.name} added: enroll it`), codeBlock({ ...created, device_id: created.id }));
      // The list shows it now, whether or not the hall feed told us yet.
      const view = await api.get(`/devices/${created.id}`);
      state.devices.set(view.id, { ...state.devices.get(view.id), ...view });
      this.renderPcs(list);
    });

    const list = h('div', { id: 'setup-pcs' });
    this.renderPcs(list);
    box.append(zoneForm, pcForm, codes, list);
    return box;
  },

  renderPcs(list) {
    const devices = [...state.devices.values()].sort(byName);
    const rows = devices.map((d) => {
      const name = h('input', { class: 'pc-rename', value: d.name, maxlength: '60', 'aria-label': `Name of ${d.name}` });
      const rename = h('button', { type: 'button', class: 'pc-rename-save', onclick: async () => {
        await this.patch(list, d, { name: name.value.trim() });
      } }, 'Rename');
      const toggle = h('button', { type: 'button', class: d.enabled ? 'pc-disable danger' : 'pc-enable', onclick: async () => {
        await this.patch(list, d, { enabled: !d.enabled });
      } }, d.enabled ? 'Disable' : 'Enable');
      const fresh = h('button', { type: 'button', class: 'pc-code', onclick: async () => {
        const code = await api.post(`/devices/${d.id}/enrollment`, {});
        clear($('#setup-code'), h('h3', null, `A fresh code for ${d.name}`), codeBlock(code));
      } }, 'New code');
      return h('tr', { 'data-device-id': d.id },
        td(h('div', { class: 'row' }, name, rename)), td(zoneTitle(d.zone_id)),
        td(d.enrolled ? (d.online ? 'online' : 'offline') : 'not enrolled'), td(d.enabled ? 'yes' : 'no'),
        num(`${d.x}, ${d.y}`), td(h('div', { class: 'row' }, toggle, fresh)));
    });
    clear(list, table(['PC', 'Zone', 'Agent', 'Enabled', 'Map x, y', ''], rows, 'No PCs yet: add one above.'));
  },

  async patch(list, d, body) {
    try {
      const updated = await api.patch(`/devices/${d.id}`, body);
      state.devices.set(updated.id, { ...d, ...updated });
      this.renderPcs(list);
      setOk(list, `${updated.name} saved.`);
    } catch (err) {
      this.renderPcs(list);
      list.prepend(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  },

  /** The chain's clubs (the chain's staff): the list and a new one. */
  clubsPart() {
    const box = h('section', { id: 'setup-clubs', class: 'setup-part' }, h('h2', null, 'Clubs'),
      h('p', { class: 'hint' }, 'Clients, their balances, tariffs, roles and settings are the chain\'s; a club may keep its own time zone and no-show rule. Zones, PCs, sessions and shifts belong to a club; an operator of one club sees and works on that club only.'));
    const name = h('input', { id: 'club-name', maxlength: '60', autocomplete: 'off' });
    const zone = h('input', { id: 'club-time-zone', autocomplete: 'off', placeholder: 'the chain\'s' });
    const noShow = h('input', { id: 'club-no-show', inputmode: 'numeric', placeholder: 'the chain\'s', size: 5 });
    const form = h('form', { id: 'club-form', class: 'toolbar', novalidate: true },
      field('New club', name), field('Its time zone (IANA, if not the chain\'s)', zone),
      field('Its no-shows after (minutes, 0 = none)', noShow),
      h('button', { id: 'club-submit', type: 'submit' }, 'Add club'));
    // A club's own clock and no-show rule, or (left empty) the chain's.
    const clubBody = (n, z, ns) => {
      const body = { name: n.trim() };
      if (z.trim()) body.time_zone = z.trim();
      const minutes = parseCount(ns, 'no_show_minutes', 1440);
      if (minutes != null) body.no_show_minutes = minutes;
      return body;
    };
    onSubmit(form, async () => {
      const k = await api.post('/clubs', clubBody(name.value, zone.value, noShow.value));
      state.clubs = [...state.clubs, k];
      this.show();
      setOk($('#club-form'), `Club ${k.name} added: give it zones and PCs below.`);
    });
    const many = manyClubs();
    const rows = [...state.clubs].sort((a, b) => a.id - b.id).map((k) => {
      const zones = state.zones.filter((z) => z.club_id === k.id).length;
      const pcs = [...state.devices.values()].filter((d) => d.club_id === k.id).length;
      const name = h('input', { class: 'club-rename', value: k.name, maxlength: '60', 'aria-label': `Name of ${k.name}` });
      const tz = h('input', { class: 'club-time-zone', value: k.time_zone || '', placeholder: 'the chain\'s', 'aria-label': `Time zone of ${k.name}` });
      // A single club's no-show rule is the one in the settings below.
      const ns = many ? h('input', { class: 'club-no-show', inputmode: 'numeric', value: k.no_show_minutes ?? '', placeholder: 'the chain\'s', size: 5, 'aria-label': `No-shows of ${k.name} after (minutes)` }) : null;
      const save = h('button', { type: 'button', class: 'club-rename-save', onclick: async () => {
        try {
          const renamed = await api.put(`/clubs/${k.id}`, clubBody(name.value, tz.value, ns ? ns.value : ''));
          state.clubs = state.clubs.map((c) => (c.id === renamed.id ? renamed : c));
          this.show();
          setOk($('#setup-club-list'), `${renamed.name} saved.`);
        } catch (err) {
          $('#setup-club-list').prepend(h('p', { class: 'error', role: 'alert' }, err.message));
        }
      } }, 'Save');
      const rules = many ? [td(tz), td(h('div', { class: 'row' }, ns, save))] : [td(h('div', { class: 'row' }, tz, save))];
      return h('tr', { 'data-club-id': k.id, 'data-club-name': k.name }, td(name), ...rules, num(zones), num(pcs));
    });
    const heads = many ? ['Club', 'Time zone', 'No-shows after (min)', 'Zones', 'PCs'] : ['Club', 'Time zone', 'Zones', 'PCs'];
    box.append(form, h('div', { id: 'setup-club-list' }, table(heads, rows, 'No clubs.')));
    return box;
  },

  settingsPart() {
    // One set for the chain: a single club's, or every club's of a chain
    // (a club keeps only its own time zone and no-show rule, under Clubs).
    const box = h('section', { id: 'setup-settings', class: 'setup-part' }, h('h2', null, manyClubs() ? 'Settings of the chain' : 'Club settings'));
    const s = state.settings || {};
    const tz = h('input', { id: 'settings-time-zone', value: s.time_zone || 'UTC', autocomplete: 'off' });
    const region = h('input', { id: 'settings-phone-region', value: s.phone_region || 'US', size: 3, maxlength: 2 });
    const noShow = h('input', { id: 'settings-no-show', inputmode: 'numeric', value: s.no_show_minutes ?? '', placeholder: 'off', size: 5 });
    const warn = h('input', { id: 'settings-warn', inputmode: 'numeric', value: Math.round((s.warn_before_end_seconds ?? 300) / 60), size: 5 });
    const shift = h('input', { id: 'settings-require-shift', type: 'checkbox', checked: s.require_open_shift !== false });
    const confirmAbove = h('input', { id: 'settings-confirm-above', inputmode: 'decimal', value: fmtMoney(s.confirm_above ?? 100_00), size: 10 });
    const form = h('form', { id: 'settings-form', class: 'pane-form narrow', novalidate: true },
      field('Time zone (IANA, e.g. Europe/Berlin)', tz),
      field('Phone region (two letters)', region),
      field(manyClubs() ? 'Cancel no-shows after (minutes; empty = off; a club may have its own, under Clubs)' : 'Cancel no-shows after (minutes; empty = off)', noShow),
      field('Warn the player before the end (minutes)', warn),
      h('label', { class: 'switch' }, shift, h('span', null, 'Cash and card need an open shift')),
      field('Confirm payments above', confirmAbove),
      h('div', { class: 'row' }, h('button', { id: 'settings-submit', type: 'submit', class: 'primary' }, 'Save settings')));
    onSubmit(form, async () => {
      const body = {
        time_zone: tz.value.trim(),
        phone_region: region.value.trim().toUpperCase(),
        no_show_minutes: noShow.value.trim() ? parseCount(noShow.value, 'no_show_minutes', 1440) : null,
        warn_before_end_seconds: (parseCount(warn.value, 'warn_before_end_seconds', 60) ?? 5) * 60,
        require_open_shift: shift.checked,
        confirm_above: parseMoney(confirmAbove.value, 'confirm_above') ?? 0,
      };
      state.settings = await api.put('/settings', body);
      await loadSettings();
      setOk(form, 'Settings saved.');
    });
    box.append(form);
    return box;
  },

  passwordPart() {
    const box = h('section', { id: 'setup-password', class: 'setup-part' }, h('h2', null, 'Your password'));
    const current = h('input', { id: 'own-current', type: 'password', autocomplete: 'current-password' });
    const next = h('input', { id: 'own-new', type: 'password', autocomplete: 'new-password' });
    const form = h('form', { id: 'own-password-form', class: 'pane-form narrow', novalidate: true },
      field('Current password', current), field('New password (8 characters or more)', next),
      h('div', { class: 'row' }, h('button', { id: 'own-password-submit', type: 'submit' }, 'Change password')));
    onSubmit(form, async () => {
      await api.post('/auth/password', { current_password: current.value, new_password: next.value });
      current.value = '';
      next.value = '';
      setOk(form, 'Password changed.');
    });
    box.append(form);
    return box;
  },
};

export { codeBlock, setupView };
