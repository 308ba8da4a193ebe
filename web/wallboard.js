// The wallboard page: renders the daemon's snapshot (GET /v1/wallboard,
// docs/admin-api.md "Wallboard") as it arrives on the event stream. No
// framework, nothing downloaded: DOM built with textContent (names come from
// the roster and gateways, so never as HTML) and inline SVG for the charts.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const CHANNELS = ['voice', 'chat', 'email', 'social'];
  const STATUS = {
    on_target: { icon: '\u2714', text: 'On target' },
    at_risk: { icon: '\u26A0', text: 'At risk' },
    breached: { icon: '\u2716', text: 'Breached' },
  };
  const STATES = {
    available: { icon: '\u25CF', text: 'Available' },
    break: { icon: '\u275A\u275A', text: 'Break' },
    offline: { icon: '\u25CB', text: 'Offline' },
    logged_out: { icon: '\u2013', text: 'Logged out' },
  };
  const TOKEN_KEY = 'switchboard.admin_token';
  let last = null; // the latest snapshot
  let received = 0;

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // 12.4 s, 3m 02s, 1h 05m: short enough to read from afar
  function dur(ms) {
    if (ms === null || ms === undefined) return '\u2013';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }

  function pct(v) {
    return v === null || v === undefined ? '\u2013' : Math.floor(v * 1000) / 10 + '%';
  }

  function clock(ms) {
    const d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()]
      .map((n) => String(n).padStart(2, '0')).join(':');
  }

  function showError(msg) {
    const e = $('error');
    if (!msg) { e.hidden = true; e.textContent = ''; return; }
    e.textContent = msg;
    e.hidden = false;
  }

  function fig(label, value, cls, name) {
    const f = el('div', 'fig' + (cls ? ' ' + cls : ''));
    const b = el('b', null, value);
    if (name) b.dataset.fig = name;
    f.append(b, el('span', null, label));
    return f;
  }

  function chips(obj) {
    const frag = document.createDocumentFragment();
    for (const k of Object.keys(obj)) {
      const c = el('span', 'chip');
      c.append(k + ' ', el('b', null, obj[k]));
      frag.append(c);
    }
    return frag;
  }

  // Service level (line, 0-100 %) over waiting contacts (bars), last hour.
  // The time the chart spans: the history there is, in 5-minute steps, up
  // to the hour the daemon keeps; a young daemon's chart is not a sliver.
  function chartSpan(q) {
    const samples = (q.history && q.history.samples) || [];
    const oldest = samples.length ? -samples[0][0] : 0;
    return Math.min(3600, Math.max(300, Math.ceil(oldest / 300) * 300));
  }

  function chart(q, span) {
    const W = 300, H = 80;
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img',
      'aria-label': 'service level and waiting contacts over the last hour' });
    const samples = (q.history && q.history.samples) || [];
    const maxWait = Math.max(1, ...samples.map((x) => x[2]));
    const x = (t) => W + (t / span) * W; // t: seconds before now (<= 0)
    const barW = Math.max(1, (q.history.interval_ms / 1000 / span) * W - 0.5);
    for (const sm of samples) {
      const h = (sm[2] / maxWait) * (H - 4);
      if (h > 0) s.append(svg('rect', { class: 'c-wait', x: x(sm[0]) - barW, y: H - h, width: barW, height: h }));
    }
    const ty = H - (q.target_pct / 100) * H;
    s.append(svg('line', { class: 'c-target', x1: 0, x2: W, y1: ty, y2: ty }));
    let d = '';
    let pen = false;
    for (const sm of samples) {
      if (sm[1] === null) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + x(sm[0]).toFixed(1) + ' ' + (H - sm[1] * (H - 2) - 1).toFixed(1);
      pen = true;
    }
    if (d) s.append(svg('path', { class: 'c-sl', d: d }));
    // the latest reading as a dot, so a young history still shows something
    const lastSl = samples.length ? samples[samples.length - 1] : null;
    if (lastSl && lastSl[1] !== null)
      s.append(svg('circle', { class: 'c-dot', cx: x(lastSl[0]).toFixed(1), cy: (H - lastSl[1] * (H - 2) - 1).toFixed(1), r: 3.5 }));
    return s;
  }

  function renderQueue(q) {
    const st = STATUS[q.status] || STATUS.on_target;
    const card = el('article', 'queue st-' + q.status);
    card.dataset.queue = q.name;
    const id = el('div', 'q-id');
    id.append(el('div', 'q-name', q.name),
      el('div', 'q-channel', q.channel + ' \u00B7 SLA ' + dur(q.sla_ms) + ' \u00B7 target ' + q.target_pct + '%'),
      el('span', 'badge', st.icon + ' ' + st.text), el('div', 'q-reason', q.status_reason));
    id.lastChild.title = q.status_reason; // in full, should it be cut short
    const figs = el('div', 'q-figs');
    figs.append(
      fig('waiting', q.waiting, 'big', 'waiting'),
      fig('longest wait', dur(q.longest_wait_ms), 'big', 'longest'),
      fig('SL (' + dur(last ? last.window_ms : null) + ')', pct(q.service_level.window), 'big', 'sl'),
      fig('SL today', pct(q.service_level.today), null, 'sl_today'),
      fig('answered today', q.today.answered, null, 'answered'),
      fig('abandoned today', q.today.abandoned, null, 'abandoned'),
      fig('ASA today', dur(q.today.asa_ms), null, 'asa'),
      fig('expired today', q.today.expired, null, 'expired'));
    const tiers = el('div', 'q-tiers');
    tiers.append(el('span', 'chip', 'waiting by tier:'), chips(q.waiting_by_tier));
    figs.append(tiers);
    const ch = el('div', 'q-chart');
    const key = el('div', 'chart-label');
    const span = chartSpan(q);
    key.append(el('span', null, '\u2212' + (span >= 3600 ? '1 h' : span / 60 + ' min')), el('span', 'key-sl', '\u2014 SL'),
      el('span', 'key-wait', '\u258D waiting'), el('span', null, '- - target'), el('span', null, 'now'));
    ch.append(chart(q, span), key);
    card.append(id, figs, ch);
    return card;
  }

  function renderAgent(a, authed) {
    const tr = el('tr');
    tr.dataset.agent = a.id;
    const who = el('td');
    who.append(el('div', 'a-name', a.name), el('div', 'a-tier', a.id + ' \u00B7 ' + a.tier));
    const s = STATES[a.state] || { icon: '?', text: a.state };
    const state = el('td');
    let label = s.icon + ' ' + s.text;
    let cls = 'state state-' + a.state;
    // the daemon says what it shows (one state each, as the counts above);
    // on contact with a state of its own (a break set during a call), both
    if (a.shown === 'on_contact') { label = '\u260E On contact'; cls = 'state state-oncontact'; }
    state.append(el('span', cls, label));
    if (a.shown === 'on_contact' && a.state !== 'available') state.append(' \u00B7 ', el('span', 'state state-' + a.state, s.icon + ' ' + s.text));
    if (a.reason) state.append(' ', el('span', 'a-tier', a.reason));
    if (a.away) state.append(' ', el('span', 'a-tier', '(away: client disconnected)'));
    tr.append(who, state, el('td', null, dur(a.time_in_state_ms)));
    for (const ch of CHANNELS) {
      const c = a.channels[ch];
      tr.append(el('td', c.load > 0 && c.load >= c.capacity ? 'load-full' : null, c.load + '/' + c.capacity));
    }
    tr.append(el('td', null, a.handled));
    const act = el('td', 'act act-col');
    if (authed && a.logged_in) {
      const sel = el('select');
      sel.setAttribute('aria-label', 'set the state of ' + a.name);
      for (const [v, t] of [['', 'Set\u2026'], ['available', 'Available'], ['break', 'Break'], ['offline', 'Offline']]) {
        const o = el('option', null, t);
        o.value = v;
        sel.append(o);
      }
      sel.addEventListener('change', () => { if (sel.value) forceState(a.id, sel.value); });
      act.append(sel);
    }
    tr.append(act);
    return tr;
  }

  function render(snap) {
    last = snap;
    received++;
    const authed = !!sessionStorage.getItem(TOKEN_KEY);
    document.body.classList.toggle('authed', authed);
    $('site').textContent = snap.site;
    $('total-waiting').textContent = snap.waiting.total;
    const wc = $('waiting-channels');
    wc.replaceChildren(chips(snap.waiting.by_channel));
    $('waiting-tiers').replaceChildren(chips(snap.waiting.by_tier));
    const counts = $('agent-counts');
    counts.replaceChildren();
    for (const [k, label] of [['available', '\u25CF available'], ['on_contact', '\u260E on contact'], ['break', '\u275A\u275A break'], ['offline', '\u25CB offline'], ['logged_out', '\u2013 logged out']]) {
      const c = el('div', 'count');
      const b = el('b', null, snap.agents.counts[k]);
      b.dataset.count = k;
      c.append(b, el('span', null, label));
      counts.append(c);
    }
    $('queues').replaceChildren(...snap.queues.map(renderQueue));
    // keep an open <select> while the supervisor is choosing
    const focused = document.activeElement && document.activeElement.tagName === 'SELECT';
    if (!focused) $('agents').replaceChildren(...snap.agents.list.map((a) => renderAgent(a, authed)));
    const evs = $('events');
    if (snap.events.length === 0) {
      evs.replaceChildren(el('li', 'empty', 'none since the daemon started'));
    } else {
      evs.replaceChildren(...snap.events.map((e) => {
        const li = el('li');
        const kind = e.kind === 'expired' ? '\u2716 Expired' : '\u26A0 SLA breached';
        li.append(el('span', 'ev-time', clock(e.t_ms)), el('span', 'ev-kind ev-' + e.kind, kind),
          e.queue + ' \u00B7 ' + e.contact + ' \u00B7 ' + (e.customer_tier || '-') + ' \u00B7 waited ' + dur(e.waited_ms) +
          (e.detail ? ' \u00B7 ' + e.detail : ''));
        return li;
      }));
    }
    $('foot-note').textContent = '"Today" since ' + new Date(snap.today_since_ms).toLocaleString() +
      ' \u00B7 window ' + dur(snap.window_ms) + ' \u00B7 breached: a contact waits past its SLA, or none can be answered' +
      ' \u00B7 at risk: one past ' + snap.at_risk.wait_pct + '% of its SLA, or SL below target';
    document.body.dataset.snapshots = String(received);
  }

  async function forceState(id, state) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const body = { state: state };
    if (state === 'break') body.reason = 'supervisor';
    try {
      const r = await fetch('/v1/agents/' + encodeURIComponent(id) + '/state', {
        method: 'POST',
        headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) {
        let msg = r.status + ' ' + r.statusText;
        try { const j = await r.json(); msg = j.error.code + ': ' + j.error.message; } catch (e) { /* not JSON */ }
        showError('Could not set ' + id + ' to ' + state + ': ' + msg);
      } else {
        showError(null);
      }
    } catch (e) {
      showError('Could not set ' + id + ' to ' + state + ': ' + e.message);
    }
    if (document.activeElement) document.activeElement.blur();
    if (last) render(last);
  }

  // 'live' (the stream), 'poll' (refused a stream: snapshots every few
  // seconds) or 'wait' (reconnecting)
  function setConn(mode) {
    const c = $('conn');
    c.className = 'conn conn-' + mode;
    c.querySelector('.conn-icon').textContent = mode === 'live' ? '\u25CF' : '\u21BB';
    $('conn-text').textContent = mode === 'live' ? 'live'
      : mode === 'poll' ? 'every ' + POLL_MS / 1000 + ' s' : 'reconnecting';
  }

  // The daemon caps its streams (admin.max_event_streams) and refuses one
  // more with a 503, after which an EventSource never tries again. A viewer
  // past the cap still sees the figures: it asks for a snapshot every
  // POLL_MS, and tries for a stream again every STREAM_RETRY_MS.
  const POLL_MS = 3000;
  const STREAM_RETRY_MS = 10000;
  let pollTimer = null;
  let retryTimer = null;

  async function pollOnce() {
    try {
      const r = await fetch('/v1/wallboard', { cache: 'no-store' });
      if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
      render(await r.json());
      setConn('poll');
    } catch (e) {
      setConn('wait');
    }
  }

  function startPolling() {
    if (pollTimer === null) {
      pollOnce();
      pollTimer = setInterval(pollOnce, POLL_MS);
    }
    if (retryTimer === null) retryTimer = setTimeout(() => { retryTimer = null; connect(); }, STREAM_RETRY_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    // EventSource reconnects by itself after a dropped connection (the
    // server asks for 2 s); after a refusal it is CLOSED for good
    const es = new EventSource('/v1/wallboard/events');
    es.addEventListener('snapshot', (ev) => {
      stopPolling();
      setConn('live');
      try { render(JSON.parse(ev.data)); } catch (e) { showError('Bad snapshot: ' + e.message); }
    });
    es.onopen = () => { stopPolling(); setConn('live'); };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        startPolling();
      } else if (pollTimer === null) {
        setConn('wait');
      }
    };
  }

  function initAuth() {
    const form = $('auth');
    $('auth-toggle').addEventListener('click', () => { form.hidden = !form.hidden; if (!form.hidden) $('token').focus(); });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      $('token').value = '';
      form.hidden = true;
      updateAuth();
    });
    $('auth-clear').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      form.hidden = true;
      updateAuth();
    });
    updateAuth();
  }

  function updateAuth() {
    const authed = !!sessionStorage.getItem(TOKEN_KEY);
    $('auth-toggle').textContent = authed ? 'Supervisor \u2714' : 'Supervisor';
    if (last) render(last);
  }

  function tick() {
    $('clock').textContent = clock(Date.now());
  }

  // Anything the Content-Security-Policy blocks is a bug in this page: say so.
  let violations = 0;
  document.addEventListener('securitypolicyviolation', (ev) => {
    violations++;
    document.documentElement.dataset.cspViolations = String(violations);
    showError('The page broke its own security policy (' + ev.violatedDirective + '): please report it');
  });

  document.addEventListener('DOMContentLoaded', () => {
    document.documentElement.dataset.cspViolations = '0';
    tick();
    setInterval(tick, 1000);
    initAuth();
    connect();
  });
})();
