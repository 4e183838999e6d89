/* Blocks of the session card: segments, corrections, receipt, refund preview. */
import { deviceName, tariffPlan } from './state.js';
import { POLICY_LABEL, fmtDateTime, fmtDuration, fmtMoney, fmtSigned, h, kv, num, table, td, timeEl, printOnly } from './util.js';

function noteFor(v, sid, deviceId) {
  if (!v) return { sid, text: `Session #${sid} is no longer on this PC.` };
  if (v.status === 'ENDED') {
    return { sid: v.id, text: `Session #${v.id} (${v.client_name}) ended.`, receipt: v.receipt };
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

/** The itemised receipt of an ended session, printable. */
function receiptBlock(r, title) {
  const lines = r.lines.map((l) => {
    const rest = [];
    if (l.kept_seconds) rest.push(`${fmtDuration(l.kept_seconds)} kept on the holding`);
    if (l.bonus) rest.push(`${fmtMoney(l.bonus)} converted to bonus`);
    if (l.burned) rest.push(`${fmtMoney(l.burned)} burned`);
    return h('tr', null,
      td(l.tariff_name),
      num(fmtDuration(l.seconds_used)),
      td(rest.length ? rest.join(', ') : '—'),
      num(fmtMoney(l.amount)));
  });
  const corrections = (r.correction_lines || []).map((c) => h('tr', null,
    td(['Correction: ', c.reason]), num(''), td(''), num(h('span', { class: c.delta < 0 ? 'neg' : 'pos' }, fmtSigned(c.delta)))));
  const tbl = table(['Tariff', 'Played', 'Unused time', 'Amount'], [...lines, ...corrections]);
  tbl.append(h('tfoot', null,
    h('tr', null, h('th', { colspan: 3 }, 'Total'), num(h('strong', { class: 'receipt-total' }, fmtMoney(r.total))))));
  const returned = [];
  if (r.bonus_returned) returned.push(`${fmtMoney(r.bonus_returned)} to bonus`);
  if (r.kept_seconds) returned.push(`${fmtDuration(r.kept_seconds)} kept on holdings`);
  return h('div', { class: 'receipt', 'data-session-id': r.session_id },
    title ? h('h4', null, title) : null,
    tbl,
    r.credited ? h('p', { class: 'summary credited' },
      `Credited to the client's balance: ${fmtMoney(r.credited)} (the corrections exceed the time played).`) : null,
    kv([
      returned.length ? ['Returned', returned.join('; ')] : null,
      r.burned ? ['Burned', fmtMoney(r.burned)] : null,
      ['End', [`${r.end_kind} at `, timeEl(r.ended_at)]],
    ]),
    h('div', { class: 'row no-print' }, h('button', { type: 'button', class: 'print-receipt', onclick: (e) => printOnly(e.target.closest('.receipt')) }, 'Print receipt')));
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

export { correctionsTable, noteFor, previewBlock, receiptBlock, segmentsTable };
