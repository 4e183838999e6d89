/* Audit: who did what, with names beside ids and each change readable;
 * filters by session, operator and dates; pages of 100. */
import { qs } from './api.js';
import { dayStart, pager } from './report-tools.js';
import { auditTable } from './sessions.js';
import { $, clear, onSubmit, parseId } from './util.js';

const auditView = {
  run: null,
  pages: null,

  init() {
    this.pages = pager(100, (list, controls) => {
      clear($('#audit-list'), auditTable(list));
      clear($('#audit-pager'), controls);
    });
    this.run = onSubmit($('#audit-filter'), () => this.load());
  },

  show() {
    this.run();
  },

  reset() {
    clear($('#audit-list'));
    clear($('#audit-pager'));
  },

  async load() {
    const params = {
      session_id: parseId($('#audit-session').value, 'session_id'),
      operator_id: parseId($('#audit-operator').value, 'operator_id'),
      from: dayStart($('#audit-from').value),
      to: dayStart($('#audit-to').value, 1),
    };
    await this.pages.first((before) => '/audit' + qs({ ...params, limit: this.pages.size, before_id: before }));
  },
};

export { auditView };
