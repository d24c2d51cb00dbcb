// The host console (GET /console): the account's live meetings and calls, kept current by
// the event stream, with the API's own controls. Runs in the browser, served as is from
// /console/console.js (the page's CSP allows scripts from this origin only).
//
// The credentials live in one variable of this closure: never in web storage, cookies
// or the URL. Every value from the API reaches the DOM through
// textContent or attributes set by setAttribute/dataset, never as HTML.

(() => {
  const API = "/conference/v2";
  /** The event types that change what the page shows (talker events are left out). */
  const EVENT_TYPES = "meeting.started,meeting.updated,meeting.ended,call.joined,call.updated,call.left";
  /** How often the lists are read again while the event stream is down, ms. */
  const POLL_MS = 3000;
  /** The longest wait between two attempts to reopen the stream, ms. */
  const MAX_RETRY_MS = 30_000;
  /** Pages of 1000 read at most per list. */
  const MAX_PAGES = 20;

  /** "Basic …" of the signed-in account; null when signed out. */
  let auth = null;
  /** Ends the current session's stream and timers. */
  let session = null;
  /** The last event id the stream delivered (sent back as Last-Event-ID on reconnect). */
  let lastEventId = null;

  const el = (id) => document.getElementById(id);
  const form = el("sign-in");
  const main = el("console");
  const list = el("meetings");
  const empty = el("empty");
  const status = el("status");
  const errorBox = el("error");
  const signOutButton = el("sign-out");

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function setStatus(text) {
    status.textContent = text;
  }

  /** Base64 of the UTF-8 bytes, as HTTP Basic wants. */
  function basic(login, password) {
    const bytes = new TextEncoder().encode(`${login}:${password}`);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return `Basic ${btoa(s)}`;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** The reference's error body as one line: message and each error's field and text. */
  async function errorText(res) {
    let text = `${res.status} ${res.statusText}`.trim();
    try {
      const body = await res.json();
      if (body && typeof body.message === "string") text = body.message;
      if (body && Array.isArray(body.errors)) {
        const parts = body.errors
          .filter((e) => e && typeof e.message === "string")
          .map((e) => (typeof e.field === "string" ? `${e.field}: ${e.message}` : e.message));
        if (parts.length) text += ` (${parts.join("; ")})`;
      }
    } catch {
      // not JSON: the status line says enough
    }
    return text;
  }

  /**
   * One request to the API with the account's credentials. The "omit" credentials mode keeps the
   * browser from sending cookies or showing its own login dialog on a 401.
   */
  async function api(method, path, body, withAuth = auth) {
    if (!withAuth) throw new ApiError(401, "signed out");
    const headers = { Authorization: withAuth, Accept: "application/json" };
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    if (!res.ok) throw new ApiError(res.status, await errorText(res));
    if (res.status === 204) return null;
    return res.json();
  }

  /** Every item of a list, page by page. */
  async function listAll(path) {
    const items = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await api("GET", `${path}?limit=1000&offset=${page * 1000}`);
      items.push(...r.items);
      if (!r.has_more) break;
    }
    return items;
  }

  // ---- what the page shows -------------------------------------------------------------

  /** meeting_sid -> { meeting, el, body (tbody), rows: Map(call_sid -> { call, el }) } */
  const shown = new Map();

  function button(action, label) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.action = action;
    b.textContent = label;
    return b;
  }

  function cell(row, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    row.append(td);
    return td;
  }

  function formatDuration(seconds) {
    const s = Math.max(0, Math.floor(Number(seconds) || 0));
    const m = Math.floor(s / 60);
    return `${m}:${String(s % 60).padStart(2, "0")}`;
  }

  function newMeetingView(m) {
    const section = document.createElement("section");
    section.className = "meeting";
    section.dataset.meetingSid = m.meeting_sid;
    const head = document.createElement("div");
    head.className = "meeting-head";
    const title = document.createElement("h2");
    title.textContent = m.meeting_sid;
    const facts = document.createElement("span");
    facts.className = "facts";
    head.append(title, facts, button("lock", "Lock"), button("unlock", "Unlock"), button("end", "End meeting"));
    const table = document.createElement("table");
    const thead = document.createElement("thead");
    const hr = document.createElement("tr");
    for (const h of ["Caller", "Name", "Role", "State", "In for", ""]) {
      const th = document.createElement("th");
      th.textContent = h;
      hr.append(th);
    }
    thead.append(hr);
    const tbody = document.createElement("tbody");
    table.append(thead, tbody);
    section.append(head, table);
    return { meeting: m, el: section, facts, body: tbody, rows: new Map() };
  }

  function updateMeetingView(view, m) {
    view.meeting = m;
    const a = m.attendees || {};
    const parts = [
      m.meeting_room_sid ? `room ${m.meeting_room_sid}` : "no room",
      `hosts ${a.hosts ?? 0}, participants ${a.participants ?? 0}, listeners ${a.listeners ?? 0}`,
      m.locked ? "locked" : "open",
    ];
    if (m.on_hold) parts.push(`on hold: ${m.on_hold}`);
    if (m.recording) parts.push("recording");
    parts.push(formatDuration(m.duration));
    view.facts.textContent = parts.join(" · ");
    view.el.dataset.locked = String(Boolean(m.locked));
    view.el.classList.toggle("locked", Boolean(m.locked));
    for (const b of view.el.querySelectorAll(".meeting-head button")) {
      if (b.dataset.action === "lock") b.disabled = Boolean(m.locked);
      if (b.dataset.action === "unlock") b.disabled = !m.locked;
    }
  }

  function newCallView(c) {
    const tr = document.createElement("tr");
    tr.dataset.callSid = c.call_sid;
    const cells = {
      src: cell(tr),
      name: cell(tr),
      role: cell(tr),
      state: cell(tr, "state"),
      duration: cell(tr),
    };
    const actions = cell(tr, "actions");
    const buttons = {
      mute: button("mute", "Mute"),
      unmute: button("unmute", "Unmute"),
      hold: button("hold", "Hold"),
      unhold: button("unhold", "Unhold"),
      drop: button("drop", "Drop"),
    };
    actions.append(buttons.mute, buttons.unmute, buttons.hold, buttons.unhold, buttons.drop);
    return { call: c, el: tr, cells, buttons };
  }

  function updateCallView(view, c) {
    view.call = c;
    view.cells.src.textContent = String(c.number_src ?? "");
    view.cells.name.textContent = String(c.name ?? "");
    view.cells.role.textContent = String(c.role ?? "");
    const state = [c.muted ? "muted" : "talking", c.on_hold ? "on hold" : ""].filter(Boolean).join(", ");
    view.cells.state.textContent = state;
    view.cells.duration.textContent = formatDuration(c.duration);
    view.el.dataset.muted = String(Boolean(c.muted));
    view.el.dataset.onHold = String(Boolean(c.on_hold));
    view.el.classList.toggle("muted", Boolean(c.muted));
    view.el.classList.toggle("held", Boolean(c.on_hold));
    view.buttons.mute.disabled = Boolean(c.muted);
    view.buttons.unmute.disabled = !c.muted;
    view.buttons.hold.disabled = Boolean(c.on_hold);
    view.buttons.unhold.disabled = !c.on_hold;
  }

  const byDate = (key) => (x, y) => String(x[key] ?? "").localeCompare(String(y[key] ?? ""));

  /** Makes the DOM show exactly these meetings and calls, keeping elements that stay (and their focus). */
  function render(meetings, calls) {
    meetings.sort(byDate("date_created"));
    calls.sort(byDate("date_joined"));
    const callsOf = new Map();
    for (const c of calls) {
      const l = callsOf.get(c.meeting_sid);
      if (l) l.push(c);
      else callsOf.set(c.meeting_sid, [c]);
    }
    const keep = new Set(meetings.map((m) => m.meeting_sid));
    for (const [sid, view] of shown) {
      if (!keep.has(sid)) {
        view.el.remove();
        shown.delete(sid);
      }
    }
    for (const m of meetings) {
      let view = shown.get(m.meeting_sid);
      if (!view) {
        view = newMeetingView(m);
        shown.set(m.meeting_sid, view);
      }
      updateMeetingView(view, m);
      list.append(view.el); // in order (moving an element keeps its state)
      renderCalls(view, callsOf.get(m.meeting_sid) ?? []);
    }
    empty.hidden = meetings.length > 0;
  }

  function renderCalls(view, calls) {
    const keep = new Set(calls.map((c) => c.call_sid));
    for (const [sid, row] of view.rows) {
      if (!keep.has(sid)) {
        row.el.remove();
        view.rows.delete(sid);
      }
    }
    for (const c of calls) {
      let row = view.rows.get(c.call_sid);
      if (!row) {
        row = newCallView(c);
        view.rows.set(c.call_sid, row);
      }
      updateCallView(row, c);
      view.body.append(row.el);
    }
  }

  function clearView() {
    for (const view of shown.values()) view.el.remove();
    shown.clear();
    empty.hidden = false;
  }

  // ---- reading the lists -----------------------------------------------------------------

  let reading = false;
  let readAgain = false;
  let refreshTimer = null;

  /** Reads both lists and renders them; a request made while one runs makes it run once more. */
  async function refresh() {
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    const mine = session;
    try {
      do {
        readAgain = false;
        const [meetings, calls] = await Promise.all([listAll("/meetings"), listAll("/calls")]);
        if (session !== mine) return;
        render(meetings, calls);
      } while (readAgain && session === mine);
    } catch (e) {
      if (session === mine) reportFailure(e);
    } finally {
      reading = false;
    }
  }

  /** A refresh soon: a burst of events costs one pair of reads. */
  function refreshSoon(ms = 100) {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void refresh();
    }, ms);
  }

  function reportFailure(e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut();
      showError(`Signed out: ${e.message}`);
      return;
    }
    showError(e instanceof Error ? e.message : String(e));
  }

  // ---- the event stream ------------------------------------------------------------------

  /**
   * Reads GET /events with fetch (the browser's own SSE client cannot send the Authorization header) and
   * reopens it with Last-Event-ID when it ends; while it is down the lists are polled.
   */
  async function runStream(s) {
    let wait = 1000;
    while (session === s) {
      try {
        const headers = { Authorization: auth, Accept: "text/event-stream" };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const res = await fetch(`${API}/events?type=${EVENT_TYPES}`, {
          headers,
          credentials: "omit",
          cache: "no-store",
          signal: s.abort.signal,
        });
        if (!res.ok || !res.body) throw new ApiError(res.status, await errorText(res));
        s.streaming(true);
        wait = 1000;
        // What happened while it was closed is read whole once; events keep it current.
        refreshSoon(0);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = blankLine(buffer);
          while (end) {
            const block = buffer.slice(0, end.at);
            buffer = buffer.slice(end.at + end.length);
            const r = parseBlock(block);
            if (r.retry) wait = r.retry;
            if (r.event) onEvent(r.event, r.data);
            end = blankLine(buffer);
          }
          // A block that never ends is not an event: bound what is kept.
          if (buffer.length > 1_000_000) throw new Error("event stream: block too long");
        }
        throw new Error("event stream closed");
      } catch (e) {
        if (session !== s) return;
        if (e instanceof ApiError && e.status === 401) return reportFailure(e);
        s.streaming(false, e instanceof Error ? e.message : String(e));
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }

  function blankLine(s) {
    const m = /\r\n\r\n|\n\n|\r\r/.exec(s);
    return m ? { at: m.index, length: m[0].length } : null;
  }

  /** One SSE block: its id (kept), event name, data lines and retry. */
  function parseBlock(block) {
    let event = "message";
    const data = [];
    let retry = 0;
    let sawData = false;
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "id") lastEventId = value;
      else if (field === "event") event = value;
      else if (field === "data") {
        data.push(value);
        sawData = true;
      } else if (field === "retry" && /^\d+$/.test(value)) retry = Math.min(Number(value), MAX_RETRY_MS);
    }
    return { event: sawData ? event : null, data: data.join("\n"), retry };
  }

  function onEvent(type, data) {
    // Apply what the event carries at once where the object is shown; then read the
    // lists (a join, a leave, an end changes more than one object).
    try {
      const e = JSON.parse(data);
      if (type === "call.updated" && e.data && typeof e.data.call_sid === "string") {
        const view = shown.get(e.data.meeting_sid);
        const row = view?.rows.get(e.data.call_sid);
        if (row) updateCallView(row, e.data);
      } else if (type === "meeting.updated" && e.data && typeof e.data.meeting_sid === "string") {
        const view = shown.get(e.data.meeting_sid);
        if (view) updateMeetingView(view, e.data);
      }
    } catch {
      // not JSON: the read below still brings the page up to date
    }
    refreshSoon();
  }

  // ---- the controls ----------------------------------------------------------------------

  const CALL_ACTIONS = {
    mute: (sid) => api("PATCH", `/calls/${encodeURIComponent(sid)}`, { muted: true }),
    unmute: (sid) => api("PATCH", `/calls/${encodeURIComponent(sid)}`, { muted: false }),
    hold: (sid) => api("PATCH", `/calls/${encodeURIComponent(sid)}`, { on_hold: true }),
    unhold: (sid) => api("PATCH", `/calls/${encodeURIComponent(sid)}`, { on_hold: false }),
    drop: (sid) => api("DELETE", `/calls/${encodeURIComponent(sid)}`),
  };
  const MEETING_ACTIONS = {
    lock: (sid) => api("PATCH", `/meetings/${encodeURIComponent(sid)}`, { locked: true }),
    unlock: (sid) => api("PATCH", `/meetings/${encodeURIComponent(sid)}`, { locked: false }),
    end: (sid) => api("DELETE", `/meetings/${encodeURIComponent(sid)}`),
  };

  list.addEventListener("click", async (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest("button[data-action]") : null;
    if (!b || !auth) return;
    const action = b.dataset.action;
    const row = b.closest("[data-call-sid]");
    const meetingEl = b.closest("[data-meeting-sid]");
    b.disabled = true;
    clearError();
    try {
      if (row && Object.hasOwn(CALL_ACTIONS, action)) {
        const call = await CALL_ACTIONS[action](row.dataset.callSid);
        const view = meetingEl ? shown.get(meetingEl.dataset.meetingSid) : undefined;
        const r = view?.rows.get(row.dataset.callSid);
        if (call && r) updateCallView(r, call);
      } else if (meetingEl && Object.hasOwn(MEETING_ACTIONS, action)) {
        const meeting = await MEETING_ACTIONS[action](meetingEl.dataset.meetingSid);
        const view = shown.get(meetingEl.dataset.meetingSid);
        if (meeting && view) updateMeetingView(view, meeting);
      }
    } catch (e) {
      reportFailure(e);
    } finally {
      refreshSoon(0);
    }
  });

  // ---- signing in and out ----------------------------------------------------------------

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError();
    const login = form.elements.namedItem("login").value;
    const password = form.elements.namedItem("password").value;
    const candidate = basic(login, password);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    setStatus("Signing in…");
    try {
      const who = await api("GET", "/accounts/whoami", undefined, candidate);
      form.elements.namedItem("password").value = "";
      signIn(candidate, who);
    } catch (e) {
      setStatus("Signed out");
      showError(
        e instanceof ApiError && e.status === 401
          ? `Sign-in failed: wrong login or password (${e.message})`
          : `Sign-in failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    } finally {
      submit.disabled = false;
    }
  });

  signOutButton.addEventListener("click", () => {
    signOut();
    clearError();
  });

  function signIn(credentials, who) {
    auth = credentials;
    lastEventId = null;
    const name = who && typeof who.login === "string" ? who.login : "account";
    let pollTimer = null;
    const s = {
      abort: new AbortController(),
      streaming(on, why) {
        if (on) {
          if (pollTimer !== null) clearInterval(pollTimer);
          pollTimer = null;
          setStatus(`Signed in as ${name} · live`);
        } else {
          setStatus(`Signed in as ${name} · polling every ${POLL_MS / 1000} s (event stream: ${why})`);
          if (pollTimer === null) pollTimer = setInterval(() => void refresh(), POLL_MS);
          void refresh();
        }
      },
      stop() {
        this.abort.abort();
        if (pollTimer !== null) clearInterval(pollTimer);
        pollTimer = null;
      },
    };
    session = s;
    form.hidden = true;
    main.hidden = false;
    signOutButton.hidden = false;
    setStatus(`Signed in as ${name}`);
    void refresh();
    void runStream(s);
  }

  function signOut() {
    session?.stop();
    session = null;
    auth = null;
    lastEventId = null;
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = null;
    clearView();
    main.hidden = true;
    form.hidden = false;
    signOutButton.hidden = true;
    setStatus("Signed out");
  }
})();
