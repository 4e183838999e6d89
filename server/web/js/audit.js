/* Audit. */
import { api, qs } from './api.js';
import { auditTable } from './sessions.js';
import { $, clear, onSubmit, parseId } from './util.js';

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

export { auditView };
