// palyrad web console: plain DOM, no framework, no build step.
//
// Security: every value from the server reaches the page through textContent or text
// nodes (never parsed as markup), and every request carries the session's CSRF token in
// x-csrf-token. The session itself is an HttpOnly cookie this script cannot read; the
// token is kept only in this tab's sessionStorage (which no other origin, port included,
// can read), because any other web service on this host receives the cookie.
// Streaming: each run's events come over server-sent events (GET /api/v1/runs/{id}/events),
// with the token in the query (EventSource cannot set headers).
'use strict';

(() => {
  const TOKEN_KEY = 'palyra_console_csrf';
  const state = { csrf: sessionStorage.getItem(TOKEN_KEY) ?? '', sessionId: null, approvalIds: '', timer: null, view: 'chat' };
  const $ = (id) => document.getElementById(id);

  /** Builds an element; children are nodes or strings (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs ?? {})) {
      if (name === 'class') node.className = value;
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function say(message, isError = false) {
    $('status').textContent = message;
    $('status').classList.toggle('error', isError);
  }

  const time = (ms) => (typeof ms === 'number' ? new Date(ms).toLocaleTimeString() : '');
  const short = (text, n = 80) => (typeof text === 'string' && text.length > n ? `${text.slice(0, n - 1)}…` : text ?? '');

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Calls the daemon; JSON in and out. A 401 sends the operator back to the login form. */
  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (state.csrf) headers['x-csrf-token'] = state.csrf;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const error = new ApiError(res.status, data?.error?.code ?? '', data?.error?.message ?? `${res.status} ${res.statusText}`);
      if (res.status === 401 && !path.startsWith('/console/')) showLogin('The console session ended: log in again.');
      // The cookie is shared by every tab; a login in another tab replaced this tab's session.
      else if (res.status === 403 && /CSRF token/.test(error.message)) showLogin('The console session changed (a login in another tab?): log in again.');
      throw error;
    }
    return data;
  }

  /** Runs an action, showing its failure in the status line instead of losing it. */
  function guarded(action) {
    return (...args) =>
      Promise.resolve()
        .then(() => action(...args))
        .catch((error) => say(error.message, true));
  }

  // ---- login ----------------------------------------------------------------------

  function showLogin(message) {
    clearInterval(state.timer);
    state.csrf = '';
    sessionStorage.removeItem(TOKEN_KEY);
    $('app').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    if (message) say(message, true);
    $('login-token').focus();
  }

  async function showApp(session) {
    // The login answer carries the token; a reloaded page kept it in sessionStorage.
    if (session.csrfToken) {
      state.csrf = session.csrfToken;
      sessionStorage.setItem(TOKEN_KEY, state.csrf);
    }
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    say('');
    clearInterval(state.timer);
    state.timer = setInterval(() => void poll(), 2000);
    await Promise.all([loadSessions(), refreshApprovals(), refreshJournalBadge()]);
  }

  async function poll() {
    try {
      await refreshApprovals();
      await refreshJournalBadge();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) say(error.message, true);
    }
  }

  $('login-form').addEventListener(
    'submit',
    guarded(async (event) => {
      event.preventDefault();
      const token = $('login-token').value;
      $('login-token').value = '';
      await showApp(await api('POST', '/console/login', { token }));
    }),
  );

  $('logout').addEventListener(
    'click',
    guarded(async () => {
      await api('POST', '/console/logout');
      showLogin();
      say('Logged out.');
    }),
  );

  // ---- tabs -----------------------------------------------------------------------

  const loaders = { chat: async () => undefined, runs: () => loadRuns(), journal: () => loadJournal(), policies: () => loadPolicies() };
  for (const button of document.querySelectorAll('#tabs button')) {
    button.addEventListener(
      'click',
      guarded(async () => {
        state.view = button.dataset.view;
        for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-pressed', String(b === button));
        for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== `view-${state.view}`;
        await loaders[state.view]();
      }),
    );
  }

  // ---- sessions and chat ----------------------------------------------------------

  async function loadSessions() {
    const { sessions } = await api('GET', '/api/v1/sessions');
    const list = $('session-list');
    list.replaceChildren(
      ...sessions.map((s) =>
        el('li', {}, el('button', { type: 'button', 'data-session': s.id, 'aria-current': String(s.id === state.sessionId), title: s.id, onclick: guarded(() => selectSession(s)) }, s.label ?? s.key ?? s.id)),
      ),
    );
  }

  $('session-form').addEventListener(
    'submit',
    guarded(async (event) => {
      event.preventDefault();
      const key = $('session-key').value.trim();
      const { session } = await api('POST', '/api/v1/sessions', key ? { key } : {});
      $('session-key').value = '';
      await selectSession(session);
    }),
  );

  async function selectSession(session) {
    state.sessionId = session.id;
    $('chat-title').textContent = `Session ${session.label ?? session.key ?? session.id}`;
    $('chat-title').title = session.id;
    $('chat-input').disabled = false;
    $('chat-send').disabled = false;
    await loadSessions();
    // Earlier answers of this session (its messages' text is on each run's tape).
    const { runs } = await api('GET', `/api/v1/runs?session=${encodeURIComponent(session.id)}`);
    $('chat-log').replaceChildren(
      ...runs
        .filter((r) => r.finalText !== null)
        .map((r) => {
          const bubble = assistantBubble(r.runId);
          bubble.querySelector('.text').textContent = r.finalText;
          setRunState(bubble, r.state, r.reason);
          return bubble;
        }),
    );
    $('chat-input').focus();
  }

  $('chat-form').addEventListener(
    'submit',
    guarded(async (event) => {
      event.preventDefault();
      const text = $('chat-input').value.trim();
      if (!text || !state.sessionId) return;
      $('chat-input').value = '';
      $('chat-log').append(el('li', { class: 'msg user' }, el('div', { class: 'text' }, text)));
      const admission = await api('POST', `/api/v1/sessions/${encodeURIComponent(state.sessionId)}/messages`, { text, idempotencyKey: crypto.randomUUID() });
      let bubble = document.querySelector(`#chat-log [data-run="${CSS.escape(admission.runId)}"]`);
      if (!bubble) {
        bubble = assistantBubble(admission.runId);
        $('chat-log').append(bubble);
        streamRun(admission.runId, bubble);
      }
      bubble.scrollIntoView({ block: 'end' });
    }),
  );

  function assistantBubble(runId) {
    return el(
      'li',
      { class: 'msg assistant', 'data-run': runId, 'data-state': 'queued', 'data-deltas': '0' },
      el('div', { class: 'meta' }, `run ${runId} · queued`),
      el('div', { class: 'text' }),
      el('ul', { class: 'notes' }),
    );
  }

  function setRunState(bubble, runState, reason) {
    bubble.dataset.state = runState;
    bubble.querySelector('.meta').textContent = `run ${bubble.dataset.run} · ${runState}${reason ? ` (${reason})` : ''}`;
  }

  const note = (bubble, text) => bubble.querySelector('.notes').append(el('li', {}, text));

  /**
   * Follows one run's events: text deltas appear as they arrive; the `end` event carries
   * the finished run, whose final answer replaces the streamed text. EventSource resumes
   * by itself after a dropped connection (Last-Event-ID), so nothing is lost or repeated.
   */
  function streamRun(runId, bubble) {
    const source = new EventSource(`/api/v1/runs/${encodeURIComponent(runId)}/events?csrf=${encodeURIComponent(state.csrf)}`);
    const textNode = bubble.querySelector('.text');
    const on = (type, handler) => source.addEventListener(type, (event) => handler(JSON.parse(event.data)));
    let deltas = 0;
    on('text_delta', (data) => {
      textNode.textContent += data.text;
      bubble.dataset.deltas = String(++deltas);
    });
    on('turn_started', (data) => {
      if (data.turn > 1 && textNode.textContent !== '') textNode.textContent += '\n';
    });
    on('state', (data) => setRunState(bubble, data.to, data.reason));
    on('tool_call_started', (data) => note(bubble, `tool ${data.tool} started`));
    on('tool_call_finished', (data) => note(bubble, `tool ${data.tool} ${data.ok ? 'succeeded' : 'failed'}`));
    on('approval_requested', (data) => {
      note(bubble, `${data.tool} waits for your approval (${data.approvalId})`);
      void poll();
    });
    on('gap', () => note(bubble, 'some events were missed; the final answer below is complete'));
    on('end', (run) => {
      source.close();
      if (run.finalText !== null && run.finalText !== undefined) textNode.textContent = run.finalText;
      setRunState(bubble, run.state, run.reason);
      bubble.dataset.final = 'true';
      void poll();
      if (state.view === 'runs') void loadRuns().catch(() => undefined);
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED && bubble.dataset.final !== 'true') note(bubble, 'the event stream closed; see Runs for the outcome');
    });
  }

  // ---- approvals ------------------------------------------------------------------

  const SCOPE_LABELS = { once: 'Approve once', session: 'Approve for the session', always: 'Always approve' };

  async function refreshApprovals() {
    const { approvals } = await api('GET', '/api/v1/approvals');
    $('approvals-count').textContent = String(approvals.length);
    // Re-rendered only when the set changes, so a button is never replaced under a click.
    const ids = approvals.map((a) => a.id).join(',');
    if (ids === state.approvalIds) return;
    state.approvalIds = ids;
    $('approval-list').replaceChildren(...approvals.map(approvalCard));
  }

  function approvalCard(approval) {
    const { request, decision } = approval;
    const answer = (body) =>
      guarded(async () => {
        await api('POST', `/api/v1/approvals/${encodeURIComponent(approval.id)}`, body);
        say(`${body.decision === 'deny' ? 'Denied' : 'Approved'} ${request.tool.name} (${approval.id}).`);
        await refreshApprovals();
      });
    const scopes = approval.scopes.filter((s) => s in SCOPE_LABELS);
    return el(
      'li',
      { class: 'approval', 'data-approval': approval.id },
      el('div', {}, el('strong', {}, request.tool.name), ` for ${request.principal?.type ?? ''} ${request.principal?.id ?? ''}`),
      el('pre', {}, JSON.stringify(request.args, null, 2)),
      el('div', { class: 'reasons' }, (decision.reasons ?? []).join('; ') || 'policy asks for a human'),
      el('div', { class: 'reasons' }, `expires ${time(approval.expiresAt)}`),
      el(
        'div',
        { class: 'actions' },
        ...scopes.map((scope) => el('button', { type: 'button', class: scope === 'once' ? 'primary' : '', 'data-scope': scope, onclick: answer({ decision: 'approve', scope }) }, SCOPE_LABELS[scope])),
        el('button', { type: 'button', class: 'danger', 'data-scope': 'deny', onclick: answer({ decision: 'deny', reason: 'denied at the console' }) }, 'Deny'),
      ),
    );
  }

  // ---- runs and tapes -------------------------------------------------------------

  async function loadRuns() {
    const { runs } = await api('GET', '/api/v1/runs?limit=100');
    $('run-list').replaceChildren(
      ...runs.map((r) =>
        el(
          'tr',
          { 'data-run': r.runId, onclick: guarded(() => loadTape(r.runId)) },
          el('td', {}, el('code', {}, r.runId)),
          el('td', {}, el('code', {}, r.sessionId)),
          el('td', {}, r.state),
          el('td', {}, time(r.createdAt)),
          el('td', {}, short(r.finalText ?? r.reason ?? '')),
        ),
      ),
    );
  }

  async function loadTape(runId) {
    $('tape-title').textContent = `Tape of ${runId}`;
    let tape;
    try {
      tape = await api('GET', `/api/v1/runs/${encodeURIComponent(runId)}/tape`);
    } catch (error) {
      $('tape').replaceChildren(el('li', { class: 'placeholder' }, error.message));
      return;
    }
    $('tape').replaceChildren(
      ...tape.events.map((e) =>
        el(
          'li',
          { 'data-kind': e.kind },
          el('span', { class: 'kind' }, `${e.payload?.step ?? '?'}. ${e.kind}`),
          ` ${time(e.payload?.at)} `,
          summary(e.kind, e.payload ?? {}),
          el('details', {}, el('summary', {}, `seq ${e.seq}`), el('pre', {}, JSON.stringify(e.payload, null, 2))),
        ),
      ),
    );
  }

  /** One line of essentials per tape step (docs/agent.md lists every kind's fields). */
  function summary(kind, p) {
    switch (kind) {
      case 'run.started':
        return `model ${p.model ?? ''} via ${p.providerId ?? ''}`;
      case 'run.transition':
        return `${p.from} → ${p.to}${p.reason ? ` (${p.reason})` : ''}`;
      case 'model.request':
        return `turn ${p.turn}, ${p.messageCount} messages`;
      case 'model.response':
        return `turn ${p.turn}: ${short(p.text, 60)}${p.toolCalls?.length ? ` + ${p.toolCalls.map((c) => c.name).join(', ')}` : ''}`;
      case 'tool.proposed':
        return `${p.tool} ${short(JSON.stringify(p.args), 60)}`;
      case 'tool.decision':
        return `${p.tool}: ${p.decision}${p.policies?.length ? ` by ${p.policies.join(', ')}` : ''}`;
      case 'approval.requested':
        return `${p.tool} awaits ${p.approvalId}`;
      case 'approval.resolved':
        return `${p.tool}: ${p.outcome}${p.by ? ` by ${p.by}` : ''}${p.scope ? ` (${p.scope})` : ''}`;
      case 'tool.result':
        return `${p.tool}: ${p.ok ? 'ok' : `error ${p.error?.code ?? ''}`}`;
      case 'run.finished':
        return `${p.state}${p.reason ? ` (${p.reason})` : ''}: ${short(p.finalText ?? '', 60)}`;
      default:
        return '';
    }
  }

  // ---- journal and policies -------------------------------------------------------

  function definitions(target, pairs) {
    target.replaceChildren(...pairs.flatMap(([term, value, cls]) => [el('dt', {}, term), el('dd', cls ? { class: cls } : {}, String(value ?? '—'))]));
  }

  async function refreshJournalBadge() {
    const status = await api('GET', '/api/v1/journal');
    $('journal-badge').textContent = `journal head ${status.head?.seq ?? '?'}`;
    return status;
  }

  async function loadJournal() {
    const { head, checkpoint } = await refreshJournalBadge();
    const anchored = checkpoint ? checkpoint.size === head?.seq : false;
    definitions($('journal-status'), [
      ['head seq', head?.seq],
      ['head hash', head?.hash],
      ['last checkpoint', checkpoint ? `#${checkpoint.n} over ${checkpoint.size} events at ${new Date(checkpoint.ts).toLocaleString()}` : 'none yet'],
      ['anchored', anchored ? 'yes: a signed checkpoint covers the head' : 'not yet: the head is past the last checkpoint', anchored ? 'ok' : ''],
    ]);
  }

  $('verify').addEventListener(
    'click',
    guarded(async () => {
      definitions($('verify-result'), [['verified', 'checking…']]);
      let report;
      try {
        const body = await api('GET', '/api/v1/journal/verify');
        report = body.report ?? body;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          // Placeholder until this daemon serves GET /api/v1/journal/verify.
          definitions($('verify-result'), [['verified', 'not available from this daemon yet: run `palyrad journal verify` on the state directory', 'placeholder']]);
          return;
        }
        throw error;
      }
      definitions($('verify-result'), [
        ['verified', report.ok ? 'ok: every frame, hash and checkpoint checks out' : 'FAILED', report.ok ? 'ok' : 'bad'],
        ['anchored', report.anchored ? 'yes' : 'no: no signed checkpoint covers the head', report.anchored ? 'ok' : 'bad'],
        ['events', report.events],
        ['problems', (report.problems ?? []).map((p) => `${p.seq ?? ''} ${p.code}: ${p.message}`).join('\n') || 'none'],
      ]);
    }),
  );

  async function loadPolicies() {
    const { hash, policies } = await api('GET', '/api/v1/policies');
    $('policy-hash').textContent = hash;
    $('policy-list').replaceChildren(
      ...policies.map((p) => el('li', { 'data-policy': p.id }, el('code', {}, p.id), ` — ${p.origin?.type === 'file' ? p.origin.path : p.origin?.type ?? ''}`)),
    );
  }

  // ---- start ----------------------------------------------------------------------

  if (state.csrf) api('GET', '/console/session').then(showApp, () => showLogin());
  else showLogin();
})();
