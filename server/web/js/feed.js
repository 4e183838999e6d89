/* The hall feed: the hall WebSocket, with a polling fallback while it is down. */
import { hall } from './hall.js';
import { state } from './state.js';
import { $, POLL_MS } from './util.js';

const feed = {
  ws: null,
  running: false,
  live: false,
  awaitingSnapshot: true,
  lastSeq: null,
  attempt: 0,
  retryTimer: null,
  pollTimer: null,

  start() {
    this.running = true;
    this.lastSeq = null;
    this.attempt = 0;
    this.setLive(false);
    this.startPolling();
    this.connect();
  },

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.stopPolling();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (_) { /* already closed */ }
    }
    this.setLive(false);
  },

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/api/v1/hall/ws?token=${encodeURIComponent(state.token)}`;
  },

  connect() {
    if (!this.running) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (_) {
      this.retry();
      return;
    }
    this.ws = ws;
    this.awaitingSnapshot = true;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setLive(true);
      this.stopPolling();
    };
    ws.onmessage = (m) => {
      if (this.ws === ws) this.receive(m.data);
    };
    ws.onerror = () => { /* a close follows */ };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setLive(false);
      if (this.running) {
        this.startPolling();
        this.retry();
      }
    };
  },

  /** Backoff: 1 s doubling to 10 s, each with ±25% jitter (never above 10 s). */
  retry() {
    clearTimeout(this.retryTimer);
    const base = Math.min(10000, 1000 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 8);
    const delay = Math.min(10000, base * (0.75 + Math.random() * 0.5));
    this.retryTimer = setTimeout(() => this.connect(), delay);
  },

  receive(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch (_) { return; }
    if (msg.type === 'snapshot') {
      this.lastSeq = msg.seq;
      this.awaitingSnapshot = false;
      this.attempt = 0;
      hall.applySnapshot(msg.hall);
    } else if (msg.type === 'event') {
      if (this.awaitingSnapshot) return;
      if (msg.seq !== this.lastSeq + 1) {
        // A gap: ask for a fresh snapshot and ignore events until it comes.
        this.awaitingSnapshot = true;
        this.send({ type: 'resync' });
        return;
      }
      this.lastSeq = msg.seq;
      hall.applyEvent(msg.event);
    } else if (msg.type === 'error') {
      $('#feed-status').title = msg.message || '';
    }
  },

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  },

  setLive(live) {
    this.live = live;
    const el = $('#feed-status');
    el.textContent = live ? 'live' : 'reconnecting…';
    el.parentElement.classList.toggle('live', live);
    if (live) this.setReachable(true);
  },

  /**
   * Whether the hall is current: the feed is live, or the fallback's last
   * poll answered. When not, the whole hall shows it is stale and takes no
   * action (it is inert) until the server answers again.
   */
  setReachable(ok) {
    const stale = !ok && !this.live;
    document.body.classList.toggle('hall-stale', stale);
    const view = $('#view-hall');
    view.inert = stale;
    $('#hall-stale').hidden = !stale;
  },

  startPolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => hall.refresh(), POLL_MS);
    hall.refresh();
  },

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  },
};

export { feed };
