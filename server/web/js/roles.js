/* Role settings (the Owner). */
import { api } from './api.js';
import { applyPermissions } from './main.js';
import { can, chainStaff, state } from './state.js';
import { $, $$, OPERATOR_KEY, PERMISSIONS, clear, h, setError, setMsg, setOk } from './util.js';

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
    // Roles are the chain's: a club's own staff read them.
    const mine = chainStaff();
    const head = h('tr', null, h('th', null, 'Permission'),
      this.roles.map((r) => h('th', { class: 'center' }, r.name, r.builtin ? h('div', { class: 'muted small-text' }, 'built-in') : null)));
    const rows = PERMISSIONS.map((perm) => h('tr', null, h('th', { scope: 'row' }, perm),
      this.roles.map((r) => h('td', { class: 'center' }, h('input', {
        type: 'checkbox',
        'data-role-id': r.id,
        'data-permission': perm,
        checked: r.permissions.includes(perm),
        disabled: !mine,
        'aria-label': `${r.name}: ${perm}`,
      })))));
    const foot = !mine ? null : h('tr', null, h('th', null, ''), this.roles.map((r) => {
      const cell = h('td', { class: 'center save-cell' });
      cell.append(h('button', { type: 'button', id: `role-save-${r.id}`, class: 'primary small', onclick: () => this.save(r, cell) }, `Save ${r.name}`));
      return cell;
    }));
    clear($('#roles-matrix'), mine ? null : h('p', { class: 'hint' }, 'Roles are the chain\'s: its staff (an operator of no club) change them.'),
      h('table', { class: 'grid matrix' }, h('thead', null, head), h('tbody', null, rows), foot ? h('tfoot', null, foot) : null));
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

export { rolesView };
