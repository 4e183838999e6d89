/* Staff on the set-up screen (RoleManage): create an operator, change their
 * role, disable or enable them, reset their password. */
import { api } from './api.js';
import { clubName, clubSelect, manyClubs, state } from './state.js';
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
    // A desk's operator works in one club: that is the first choice, and
    // "every club" (the chain's staff) the last.
    const club = clubSelect('staff-club', 'Club of the new operator', true);
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
      // The chain's staff move an operator between clubs (their sign-ins end).
      const where = o.club_id == null ? 'every club' : clubName(o.club_id);
      let clubCell = manyClubs() ? td(where) : null;
      const pick = me ? null : clubSelect(null, `Club of ${o.login}`, true);
      if (pick) {
        pick.value = o.club_id == null ? '' : String(o.club_id);
        pick.classList.add('op-club');
        const move = h('button', { type: 'button', class: 'op-club-save', onclick: () =>
          this.patch(list, roleSelect, o, { club_id: pick.value ? Number(pick.value) : null }) }, 'Move');
        clubCell = td(h('div', { class: 'row' }, pick, move));
      }
      return h('tr', { 'data-operator-id': o.id, class: o.disabled ? 'disabled' : null },
        td(o.login), td(o.role), clubCell,
        td(o.disabled ? 'disabled' : 'active'), td(h('div', { class: 'row' }, toggle, pw, reset)));
    });
    const heads = manyClubs() ? ['Login', 'Role', 'Club', 'Status', ''] : ['Login', 'Role', 'Status', ''];
    clear(list, table(heads, rows, 'No operators.'));
  },

  async patch(list, roleSelect, o, body) {
    try {
      await api.patch(`/operators/${o.id}`, body);
      await this.load(list, roleSelect);
      const ended = body.password || 'club_id' in body;
      setOk(list, `${o.login} saved${ended ? ': their sign-ins have ended' : ''}.`);
    } catch (err) {
      list.prepend(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  },
};

export { staffView };
