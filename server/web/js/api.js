/* The API client and sign-in. */
import { app } from './main.js';
import { state } from './state.js';
import { $, ApiError, OPERATOR_KEY, TOKEN_KEY } from './util.js';

const api = {
  async call(method, path, body) {
    const token = state.token;
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch('/api/v1' + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, 'network', 'Cannot reach the server; check the connection and try again.');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (res.ok) return data;
    const e = (data && data.error) || { code: `http_${res.status}`, message: `${res.status} ${res.statusText || 'error'}` };
    if (res.status === 401 && token && token === state.token) auth.signOut(e.message);
    throw new ApiError(res.status, e.code, e.message);
  },
  get: (path) => api.call('GET', path),
  post: (path, body = {}) => api.call('POST', path, body),
  put: (path, body) => api.call('PUT', path, body),
  patch: (path, body) => api.call('PATCH', path, body),
};

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

// ===================================================================
// auth
// ===================================================================
const auth = {
  init() {
    $('#login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('#logout').addEventListener('click', () => this.logout());
    const token = sessionStorage.getItem(TOKEN_KEY);
    let operator = null;
    try { operator = JSON.parse(sessionStorage.getItem(OPERATOR_KEY) || 'null'); } catch (_) { operator = null; }
    if (token && operator) {
      state.token = token;
      state.operator = operator;
      app.start();
    } else {
      this.showLogin('');
    }
  },

  async submit() {
    const btn = $('#login-submit');
    const err = $('#login-error');
    err.textContent = '';
    btn.disabled = true;
    try {
      const ans = await api.call('POST', '/auth/login', { login: $('#login').value.trim(), password: $('#password').value });
      state.token = ans.token;
      state.operator = ans.operator;
      sessionStorage.setItem(TOKEN_KEY, ans.token);
      sessionStorage.setItem(OPERATOR_KEY, JSON.stringify(ans.operator));
      $('#password').value = '';
      app.start();
    } catch (e) {
      err.textContent = e.message;
    } finally {
      btn.disabled = false;
    }
  },

  /** Ends the sign-in on the server too, then here. */
  async logout() {
    try { await api.call('POST', '/auth/logout'); } catch (_) { /* signed out either way */ }
    this.signOut();
  },

  signOut(message) {
    app.stop();
    state.token = null;
    state.operator = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(OPERATOR_KEY);
    this.showLogin(message ? `Signed out: ${message}` : '');
  },

  showLogin(message) {
    $('#app').hidden = true;
    $('#login-screen').hidden = false;
    $('#login-error').textContent = message || '';
    $('#login').focus();
  },
};

export { api, auth, qs };
