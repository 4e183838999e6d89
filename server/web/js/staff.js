/* Staff on the set-up screen (RoleManage): create an operator, change their
 * role, disable or enable them, reset their password. */
import { api } from './api.js';
import { chainStaff, clubName, manyClubs, state } from './state.js';
import { InputError, clear, field, h, onSubmit, setOk, table, td } from './util.js';

const staffView = {
  roles: [],

  part() {
    const box = h('section', { id: 'setup-staff', class: 'setup-part' }, h('h2', null, 'Staff'));
    const list = h('div', { id: 'staff-list' }, h('p', { class: 'muted' }, 'Loading staff…'));
    const login = h('input', { id: 'staff-login', maxlength: '60', autocomplete: 'off' });
    const password = h('input', { id: 'staff-password', type: 'password', autocomplete: 'new-password' });
    const role = h('select', { id: 'staff-role' });
    // The chain's staff choose an operator's club, or every club; a club's
    // own staff add operators of their club.
    const club = chainStaff() && manyClubs()
      ? h('select', { id: 'staff-club' }, h('option', { value: '' }, 'Every club'),
        [...state.clubs].sort((a, b) => a.id - b.id).map((k) => h('option', { value: k.id }, k.name)))
      : null;
    const form = h('form', { id: 'staff-form', class: 'toolbar', novalidate: true },
      field('Login', login), field('Password (8+)', password), field('Role', role), club ? field('Club', club) : null,
      h('button', { id: 'staff-submit', type: 'submit', class: 'primary' }, 'Add operator'));
    onSubmit(form, async () => {
      if (!role.value) throw new InputError('role_id: choose a role');
      const body = { login: login.value.trim(), password: password.value, role_id: Number(role.value) };
      if (club && club.value) body.club_id = Number(club.value);
      const op = await api.post('/operators', body);
      login.value = '';
      password.value = '';
      setOk(form, `Operator ${op.login} added.`);
      await this.load(list, role);
    });
    box.append(form, list);
    this.load(list, role).catch((err) => clear(list, h('p', { class: 'error', role: 'alert' }, err.message)));
    return box;
  },

  async load(list, roleSelect) {
    const [ops, roles] = await Promise.all([api.get('/operators'), api.get('/roles')]);
    this.roles = roles;
    if (!roleSelect.options.length) clear(roleSelect, roles.map((r) => h('option', { value: r.id }, r.name)));
    const rows = ops.map((o) => {
      const me = state.operator && state.operator.id === o.id;
      const toggle = me ? null : h('button', { type: 'button', class: o.disabled ? 'op-enable' : 'op-disable danger', onclick: () =>
        this.patch(list, roleSelect, o, { disabled: !o.disabled }) }, o.disabled ? 'Enable' : 'Disable');
      const pw = h('input', { class: 'op-password', type: 'password', autocomplete: 'new-password', placeholder: 'new password', 'aria-label': `New password for ${o.login}` });
      const reset = h('button', { type: 'button', class: 'op-reset', onclick: () => {
        if (pw.value.length < 8) return setOk(list, 'A password has 8 characters or more.');
        return this.patch(list, roleSelect, o, { password: pw.value });
      } }, 'Reset password');
      return h('tr', { 'data-operator-id': o.id, class: o.disabled ? 'disabled' : null },
        td(o.login), td(o.role), manyClubs() ? td(o.club_id == null ? 'every club' : clubName(o.club_id)) : null,
        td(o.disabled ? 'disabled' : 'active'), td(h('div', { class: 'row' }, toggle, pw, reset)));
    });
    const heads = manyClubs() ? ['Login', 'Role', 'Club', 'Status', ''] : ['Login', 'Role', 'Status', ''];
    clear(list, table(heads, rows, 'No operators.'));
  },

  async patch(list, roleSelect, o, body) {
    try {
      await api.patch(`/operators/${o.id}`, body);
      await this.load(list, roleSelect);
      setOk(list, `${o.login} saved${body.password ? ': their sign-ins have ended' : ''}.`);
    } catch (err) {
      list.prepend(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  },
};

export { staffView };
