// The agent console. Plain browser JavaScript, no build step: everything goes
// through the HTTP API (session cookie + X-CSRF-Token on writes) and the agent's
// event stream (EventSource, same origin). Alerts come from the stream, never
// from timers: timers only repaint countdowns, recomputed from the service's
// clock (GET /api/clock) whenever the tab becomes visible again.
"use strict";
(() => {
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const T = JSON.parse(document.getElementById("console-catalog").textContent);
  const $ = (id) => document.getElementById(id);
  const t = (key, vars = {}) =>
    (T[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const locale = cfg.lang === "ja" ? "ja-JP" : "en-GB";

  const LIVE = new Set(["queued", "ringing", "in-progress"]);
  const UNANSWERED = new Set(["busy", "no-answer", "failed", "canceled"]);
  const NEVER_AGAIN = new Set(["refused", "dnc"]);
  const STREAM_KINDS = [
    "promise_due", "promise_missed", "promise_handed_over", "call_status", "incoming_call",
    "incoming_call_missed", "agent_paused", "agent_not_answering", "token_rotated",
    "account_deactivated",
  ];

  const S = {
    agent: null, csrf: "", campaigns: new Map(), zone: "UTC",
    clock: { mode: "system", at: 0, offset: 0 },
    lead: null, leadInfo: null, claimed: null,
    call: null, // {id, lead_id, status, talkSince, done}
    promises: [], missed: [], alerts: new Map(),
    es: null, connected: false, everConnected: false, busy: false, phone: null,
  };

  // -- the HTTP API -------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = S.csrf;
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(cfg.base + path, init);
    } catch {
      return { status: 0, body: { code: "network" } };
    }
    let data = null;
    if (r.status !== 204) {
      try { data = await r.json(); } catch { data = null; }
    }
    if (r.status === 401 && data && data.code === "no_session") {
      location.assign(cfg.base + "/login");
    }
    return { status: r.status, body: data };
  }

  function errorText(res) {
    const b = res.body || {};
    switch (b.code) {
      case "network": return t("err_network");
      case "csrf_missing": case "csrf_mismatch": return t("err_csrf", { code: b.code });
      case "agent_not_available": return t("err_not_available");
      case "in_wrapup": return t("err_in_wrapup", { time: fmt(b.wrapup_until) });
      case "call_live": return t("call_live");
      default: return t("err_generic", { code: b.code || res.status });
    }
  }

  function notice(text, important = false) {
    const n = $("notice");
    n.textContent = text;
    n.classList.toggle("important", important);
  }

  // -- time -----------------------------------------------------------------------
  // The service's clock: a simulated one stands still between advances, the
  // system one runs with ours (less the measured offset).
  function now() {
    return S.clock.mode === "simulated" ? S.clock.at : Date.now() + S.clock.offset;
  }
  async function syncClock() {
    const sent = Date.now();
    const r = await api("GET", "/api/clock");
    if (r.status !== 200) return;
    const got = Date.parse(r.body.now);
    S.clock = { mode: r.body.mode, at: got, offset: got - (sent + Date.now()) / 2 };
    repaint();
  }
  function fmt(iso, zone) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(locale, {
      timeZone: zone || S.zone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    }).format(new Date(iso));
  }
  function span(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }
  // Wall-clock parts of an instant in the campaign's zone.
  function wall(ms, zone) {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone || S.zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", weekday: "short", hourCycle: "h23",
    }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return { date: `${p.year}-${p.month}-${p.day}`, hm: `${p.hour}:${p.minute}`, dow: p.weekday.toLowerCase().slice(0, 3) };
  }

  // -- DOM ------------------------------------------------------------------------
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }

  // Children given as null (a field the lead lacks) are left out.
  function fill(box, ...kids) {
    box.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
    return box;
  }

  // -- state bar --------------------------------------------------------------------
  function renderState() {
    const a = S.agent;
    if (!a) return;
    for (const b of document.querySelectorAll("button.state")) {
      b.setAttribute("aria-pressed", String(b.dataset.state === a.state));
    }
    if (a.pause_code) $("pause-code").value = a.pause_code;
    // Paused by the system while the page was away (read on load and reconnect).
    if (a.state === "paused" && a.state_reason === "connection_lost" && !S.toldLost) {
      S.toldLost = true;
      notice(t("paused_connection_lost", { time: fmt(a.state_changed_at) }), true);
    }
    if (a.state !== "paused") S.toldLost = false;
    repaint();
  }
  // The zone of a campaign's resource (a promise, an event), else the screen's.
  function zoneOf(campaignId) {
    const camp = S.campaigns.get(campaignId);
    return camp ? camp.timezone : undefined;
  }
  function campaignOf(lead) {
    return (lead && S.campaigns.get(lead.campaign_id)) || S.campaigns.values().next().value || null;
  }
  async function loadCampaigns() {
    const codes = [];
    for (const id of S.agent.campaign_ids || []) {
      const r = await api("GET", `/api/campaigns/${id}`);
      if (r.status !== 200) continue;
      S.campaigns.set(id, r.body);
      for (const c of r.body.pause_codes || []) if (!codes.includes(c)) codes.push(c);
    }
    const first = S.campaigns.values().next().value;
    if (first) S.zone = first.timezone;
    const sel = $("pause-code");
    fill(sel, ...codes.map((c) => el("option", { value: c, text: c })));
    sel.disabled = codes.length === 0;
  }
  async function reloadAgent() {
    const r = await api("GET", `/api/agents/${S.agent.id}`);
    if (r.status === 200) { S.agent = r.body; renderState(); }
  }
  async function setState(state) {
    const body = { state };
    const code = $("pause-code").value;
    if (state === "paused" && code) body.pause_code = code;
    const r = await api("PUT", `/api/agents/${S.agent.id}/state`, body);
    if (r.status === 200) { S.agent = r.body; renderState(); notice(""); }
    else notice(errorText(r), true);
  }
  async function loadStats() {
    const r = await api("GET", `/api/agents/${S.agent.id}/stats`);
    if (r.status !== 200) return;
    const f = r.body.total;
    $("fig-calls").textContent = f.calls;
    $("fig-contacts").textContent = f.contacts;
    $("fig-conversions").textContent = f.conversions.total;
    $("fig-kept").textContent = f.promises.kept;
    $("fig-missed").textContent = f.promises.missed;
  }

  // -- connection -----------------------------------------------------------------
  function setConnected(on) {
    S.connected = on;
    $("banner").hidden = on;
    const c = $("conn");
    c.dataset.state = on ? "ok" : "lost";
    c.textContent = on ? t("conn_ok") : t("conn_lost");
  }
  function openStream() {
    // The browser resends Last-Event-ID itself on its reconnects; the server
    // replays what was missed. The cookie authenticates (same origin).
    // A new EventSource sends no Last-Event-ID header: the last id seen goes in
    // the query instead, so what was sent meanwhile is replayed too.
    const since = S.lastEventId ? `?last_event_id=${encodeURIComponent(S.lastEventId)}` : "";
    const es = new EventSource(`${cfg.base}/api/agents/${S.agent.id}/events${since}`, { withCredentials: true });
    S.es = es;
    es.onopen = () => {
      setConnected(true);
      if (S.everConnected) resync();
      S.everConnected = true;
    };
    es.onerror = () => {
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (not a dropped line): an ended session goes to sign in
        // (api() does that); else start again a little later, from the last event
        // seen; promises already due are read from the list as well.
        setTimeout(async () => {
          if (S.es !== es) return;
          const r = await api("GET", "/api/session");
          if (r.status === 200) { S.csrf = r.body.csrf_token; openStream(); loadPromises({ alertDue: true }); }
          else setTimeout(() => { if (S.es === es) es.onerror(); }, 3000);
        }, 3000);
      }
    };
    for (const kind of STREAM_KINDS) {
      es.addEventListener(kind, (ev) => {
        if (ev.lastEventId) S.lastEventId = ev.lastEventId;
        let data = {};
        try { data = JSON.parse(ev.data); } catch { data = {}; }
        onEvent(kind, data);
      });
    }
  }
  async function resync() {
    await syncClock();
    await Promise.all([reloadAgent(), loadStats(), loadPromises(), resumeClaim()]);
  }

  // -- events ---------------------------------------------------------------------
  function onEvent(kind, d) {
    switch (kind) {
      case "promise_due": dueAlert(d, "stream"); loadPromises(); break;
      case "promise_missed": case "promise_handed_over": loadPromises(); loadStats(); break;
      case "call_status": callStatus(d); break;
      case "incoming_call": incoming(d); break;
      case "incoming_call_missed":
        notice(t("incoming_missed", { phone: d.phone || "?", time: fmt(d.due_at) }), true);
        loadPromises();
        break;
      case "agent_paused":
        if (d.why === "connection_lost") {
          S.toldLost = true;
          notice(t("paused_connection_lost", { time: fmt(d.lost_at) }), true);
        }
        reloadAgent();
        break;
      case "agent_not_answering": notice(t("not_answering_msg"), true); reloadAgent(); break;
      // A new API token is for programs: this browser's session stands.
      case "account_deactivated": location.assign(cfg.base + "/login"); break;
      default: break;
    }
    syncClock();
  }

  // -- next lead and the lead card --------------------------------------------------
  function callLive() { return !!(S.call && !S.call.done && LIVE.has(S.call.status)); }

  async function takeNext() {
    if (S.busy) return;
    if (callLive()) { notice(t("call_live"), true); return; }
    S.busy = true;
    try {
      const r = await api("POST", `/api/agents/${S.agent.id}/next?explain=true`);
      if (r.status === 200 && r.body && r.body.lead) {
        S.claimed = r.body.lead.id;
        await showLead(r.body.lead.id, r.body);
        notice("");
      } else if (r.status === 200 || r.status === 204) {
        showNothing(r.body || {});
      } else {
        notice(errorText(r), true);
      }
    } finally {
      S.busy = false;
    }
  }

  function showNothing(why) {
    S.lead = null; S.leadInfo = null; S.claimed = null;
    fill($("lead"));
    fill($("script"));
    const box = $("nothing");
    const reason = why.reason && T[`reason_${why.reason}`] ? t(`reason_${why.reason}`) : "";
    fill(box,
      el("p", { text: t("no_lead") }),
      reason ? el("p", { text: reason }) : null,
      why.next_callable_at ? el("p", { text: t("changes_at", { time: fmt(why.next_callable_at) }) }) : null,
    );
    box.hidden = false;
    $("incoming").hidden = true;
    renderCall();
  }

  async function resumeClaim() {
    const r = await api("GET", `/api/agents/${S.agent.id}/queue`);
    if (r.status !== 200) return;
    const id = r.body.claimed_lead_id;
    // No claim: nothing to resume. (A claim this page took meanwhile stands; an
    // expired one is refused at dial time with its reason.)
    if (id === null || id === undefined) return;
    if (S.lead && S.lead.id === id) { await refreshLead(); return; }
    // Asking again while holding a claim returns the same lead.
    const n = await api("POST", `/api/agents/${S.agent.id}/next`);
    if (n.status === 200 && n.body && n.body.lead) {
      S.claimed = n.body.lead.id;
      await showLead(n.body.lead.id, n.body);
    }
  }

  async function showLead(leadId, info) {
    const r = await api("GET", `/api/leads/${leadId}`);
    if (r.status !== 200) { notice(errorText(r), true); return; }
    S.lead = r.body;
    S.leadInfo = info || S.leadInfo;
    const camp = campaignOf(S.lead);
    if (camp) S.zone = camp.timezone;
    $("nothing").hidden = true;
    // The lead a due alert was about is on screen now: the alert did its work.
    for (const [key, box] of S.alerts) if (Number(box.dataset.lead) === leadId) dropAlert(key);
    // A call of this lead still live (a reload mid-call) is the panel's call.
    const live = (S.lead.calls || []).find((c) => LIVE.has(c.status) && !c.disposition);
    if (live && (!S.call || S.call.id !== live.id)) {
      S.call = { id: live.id, lead_id: leadId, status: live.status, talkSince: live.answered_at ? Date.parse(live.answered_at) : null, done: false };
    } else if (S.call && S.call.lead_id !== leadId && !callLive()) {
      S.call = null;
    }
    renderLead();
    renderCall();
    loadScript(leadId);
  }

  async function refreshLead() {
    // An agent reads the lead it holds; once released the card stays as it was.
    if (!S.lead || S.claimed !== S.lead.id) return;
    const id = S.lead.id;
    const r = await api("GET", `/api/leads/${id}`);
    // Only if that lead is still the one on screen and held (not released meanwhile).
    if (r.status === 200 && S.lead && S.lead.id === id && S.claimed === id) { S.lead = r.body; renderLead(); }
  }

  function who(actor) {
    const [role, id] = String(actor || "").split(":");
    if (role === "system") return t("who_system");
    if (role === "dialer") return t("who_dialer");
    if (role === "provider") return t("who_provider");
    if (role === "customer") return t("who_customer");
    if (role === "agent") return Number(id) === S.agent.id ? t("who_me") : t("who_agent", { id });
    if (role === "manager") return t("who_manager", { id });
    return actor;
  }
  function eventText(e) {
    const d = e.detail || {};
    if (e.kind === "call_status") return t("hist_call_status", { status: T[`cs_${d.status}`] ? t(`cs_${d.status}`) : d.status });
    if (e.kind === "disposition") return t("hist_disposition", { outcome: T[`out_${d.outcome}`] ? t(`out_${d.outcome}`) : d.outcome });
    if (e.kind === "promise_booked") return t("hist_promise_booked", { time: fmt(d.due_at) });
    return T[`kind_${e.kind}`] ? t(`kind_${e.kind}`) : e.kind;
  }

  function renderLead() {
    const L = S.lead;
    const box = $("lead");
    if (!L) { fill(box); return; }
    const info = S.leadInfo || {};
    const held = S.claimed === L.id;
    const org = !!L.company;
    const phones = (L.phones || []).map((p) =>
      el("li", {}, el("span", { text: p.number }),
        p.retired ? el("span", { class: "tag", text: t("retired") }) : " ",
        el("button", {
          type: "button", class: "call-number", "data-retired": p.retired ? "1" : null, "aria-label": `${t("call_this_number")} ${p.number}`,
          disabled: p.retired || !held || callLive(), onclick: () => dial(p.number),
        }, t("call_this_number"))));
    const contacts = (L.contacts || []).map((c) =>
      el("li", { text: `${c.name} — ${T[`role_${c.role}`] ? t(`role_${c.role}`) : c.role}` }));
    const extra = Object.entries(L.extra || {}).flatMap(([k, v]) =>
      [el("dt", { text: k }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })]);
    const history = [...(L.events || [])].reverse().map((e) =>
      el("li", {}, el("time", { datetime: e.at, text: fmt(e.at) }), " ", eventText(e), " · ", who(e.actor)));
    const promise = info.promise && info.promise.lead_id === L.id ? info.promise : null;
    fill(box,
      el("h3", {}, org ? L.company : (L.name || t("no_name")),
        el("span", { class: "tag", text: org ? t("organization") : t("household") }),
        info.reason && T[`why_${info.reason}`] ? el("span", { class: "tag", text: t(`why_${info.reason}`) }) : null),
      promise ? el("p", { class: "promise-about", text: t("promise_about", { time: fmt(promise.due_at) }) }) : null,
      el("dl", {},
        org && L.name ? el("dt", { text: t("name") }) : null, org && L.name ? el("dd", { text: L.name }) : null,
        el("dt", { text: t("provider") }), el("dd", { text: L.current_provider || "—" }),
        el("dt", { text: t("contract_number") }), el("dd", { text: L.contract_number || "—" }),
        el("dt", { text: t("attempts") }), el("dd", { text: String(L.attempts) }),
        el("dt", { text: t("notes") }), el("dd", { text: L.notes || "—" })),
      contacts.length ? el("h4", { text: t("contacts") }) : null,
      contacts.length ? el("ul", {}, ...contacts) : null,
      el("h4", { text: t("phones") }), el("ul", { class: "phones" }, ...phones),
      extra.length ? el("h4", { text: t("extra") }) : null,
      extra.length ? el("dl", {}, ...extra) : null,
      el("h4", { text: t("history") }), el("ol", { class: "history", reversed: true }, ...history),
    );
  }

  // -- the script -----------------------------------------------------------------
  async function loadScript(leadId) {
    const box = $("script");
    const r = await api("GET", `/api/leads/${leadId}/script`);
    if (!S.lead || S.lead.id !== leadId) return;
    if (r.status !== 200) {
      const camp = campaignOf(S.lead);
      fill(box, el("pre", { class: "script-text", text: (camp && camp.script) || "" }));
      return;
    }
    const s = r.body;
    const items = (s.opening || []).map((o, i) => {
      const id = `open-${i}`;
      return el("li", {}, el("input", { type: "checkbox", id }),
        el("label", { for: id, text: t(`open_${o.key}`, { value: o.value || t("not_set") }) }));
    });
    fill(box,
      el("p", { text: t("opening") }), el("ul", { class: "opening" }, ...items),
      el("pre", { class: "script-text", text: s.text || "" }),
      (s.unfilled || []).length ? el("p", { class: "hint", text: t("unfilled", { fields: s.unfilled.join(", ") }) }) : null,
    );
  }

  // -- the softphone ------------------------------------------------------------------
  function renderCall() {
    const c = S.call;
    const status = !c ? t("call_idle")
      : c.done || !LIVE.has(c.status) ? t("call_ended")
        : c.status === "in-progress" ? t("call_talking")
          : c.status === "ringing" ? t("call_ringing") : t("call_queued");
    $("call-status").textContent = status;
    const live = callLive();
    const held = S.lead && S.claimed === S.lead.id;
    $("dial").disabled = !held || live;
    $("release-lead").disabled = !held || live;
    $("hangup").disabled = !live;
    $("mute").disabled = !live;
    for (const k of document.querySelectorAll("button.key")) k.disabled = !live;
    // An outcome belongs to a call not yet dispositioned, whose end the system
    // did not record itself (an unanswered call is dispositioned by the system).
    const open = !!(c && !c.done && !UNANSWERED.has(c.status));
    for (const b of document.querySelectorAll("button.outcome")) b.disabled = !open;
    for (const b of document.querySelectorAll("button.call-number")) b.disabled = b.dataset.retired === "1" || !held || live;
    const camp = campaignOf(S.lead);
    $("contract-wrap").hidden = !(open && camp && camp.contract_number_pattern);
    repaint();
  }

  async function dial(phone) {
    if (!S.lead || S.claimed !== S.lead.id || callLive()) return;
    const body = phone ? { phone } : {};
    const r = await api("POST", `/api/leads/${S.lead.id}/calls`, body);
    if (r.status !== 201) { notice(errorText(r), true); return; }
    S.call = { id: r.body.id, lead_id: S.lead.id, status: r.body.status, talkSince: null, done: false };
    // A new call starts unmuted, with no keys sent.
    $("mute").setAttribute("aria-pressed", "false");
    if (S.phone) S.phone.setMuted(false);
    $("digits").textContent = "";
    $("digits").dataset.sent = "";
    notice("");
    renderCall();
    renderLead();
    // The status may have moved before the stream told us (a scripted answer).
    const g = await api("GET", `/api/calls/${r.body.id}`);
    if (g.status === 200 && S.call && S.call.id === g.body.id) applyCall(g.body.status, g.body.answered_at);
  }

  function applyCall(status, answeredAt) {
    const c = S.call;
    if (!c || c.done) return;
    c.status = status;
    if (status === "in-progress" && c.talkSince === null) c.talkSince = answeredAt ? Date.parse(answeredAt) : now();
    if (UNANSWERED.has(status)) {
      // The system dispositioned it and released the claim.
      c.done = true;
      S.claimed = null;
      loadStats();
      refreshLead();
    }
    renderCall();
  }

  function callStatus(d) {
    if (S.call && d.call_id === S.call.id) applyCall(d.status, null);
    else if (d.lead_id && LIVE.has(d.status) && !callLive() && !(S.lead && S.lead.id === d.lead_id)) {
      // A call the dialer placed for this agent (progressive), or one it placed
      // for nobody and handed to this agent once answered (predictive: the claim
      // comes with it): the lead it holds, with that live call, comes on screen
      // (a replayed old event finds no claim).
      resumeClaim();
      return;
    }
    if (S.lead && d.lead_id === S.lead.id) refreshLead();
  }

  async function hangUp() {
    if (!callLive()) return;
    if (S.phone) S.phone.hangUp();
    const r = await api("POST", `/api/calls/${S.call.id}/hangup`);
    if (r.status === 200) applyCall(r.body.status, r.body.answered_at);
    else if ((r.body || {}).code !== "call_not_live") notice(errorText(r), true);
  }

  function toggleMute() {
    const b = $("mute");
    const on = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", String(on));
    if (S.phone) S.phone.setMuted(on);
  }
  function sendDigit(d) {
    if (!callLive()) return;
    if (S.phone) S.phone.sendDigits(d);
    const out = $("digits");
    const sent = (out.dataset.sent || "") + d;
    out.dataset.sent = sent.slice(-20);
    out.textContent = t("digits_sent", { digits: out.dataset.sent });
  }

  async function startTwilio() {
    if (cfg.mode !== "twilio") return;
    const Phone = window.DialerTwilioPhone;
    if (typeof Phone !== "function") { notice(t("phone_missing"), true); return; }
    const regText = { unregistered: "reg_unregistered", registering: "reg_registering", registered: "reg_registered", error: "reg_error" };
    S.phone = new Phone({
      fetchToken: async () => {
        const r = await api("POST", `/api/agents/${S.agent.id}/voice-token`);
        if (r.status !== 200) throw new Error((r.body && r.body.code) || String(r.status));
        return { token: r.body.token, expires_at: r.body.expires_at };
      },
      onRegistration: (state) => {
        $("reg-state").textContent = t(regText[state] || "reg_error");
        $("reg-state").dataset.state = state;
      },
      onCall: (state) => {
        // The bridge of a call placed through the API: its status comes from the
        // stream; a call the panel did not place shows its state here.
        if (!S.call) $("call-status").textContent = t(state === "talking" ? "call_talking" : state === "ringing" ? "call_ringing" : "call_ended");
      },
      onError: (code, message) => {
        // Twilio's messages are English: the screen shows the code in the page's
        // language, the message goes to the developer console.
        if (message) console.error("softphone", code, message);
        const key = `phone_err_${code}`;
        const twilioCode = (String(message || "").match(/^\d+/) || [code])[0];
        notice(T[key] ? t(key, { detail: twilioCode }) : t("err_generic", { code }), true);
      },
    });
    await checkMic();
    try { await S.phone.start(); } catch (e) { console.error("softphone", e); notice(t("err_generic", { code: "softphone" }), true); }
  }
  async function checkMic() {
    if (!S.phone) return;
    const ok = await S.phone.checkMicrophone();
    $("mic-state").textContent = ok ? t("mic_ok") : t("mic_missing");
    $("mic-state").dataset.state = ok ? "ok" : "missing";
  }

  // -- dispositions -------------------------------------------------------------------
  function confirmNever() {
    const dlg = $("confirm-never");
    return new Promise((resolve) => {
      const done = (v) => {
        $("confirm-yes").onclick = null; $("confirm-no").onclick = null; dlg.onclose = null;
        if (dlg.open) dlg.close();
        resolve(v);
      };
      $("confirm-yes").onclick = () => done(true);
      $("confirm-no").onclick = () => done(false);
      dlg.onclose = () => done(false);
      dlg.showModal();
      $("confirm-no").focus();
    });
  }

  async function dispose(outcome, promise) {
    const c = S.call;
    if (!c || c.done) { notice(t("need_call"), true); return; }
    const body = { outcome };
    if (outcome === "converted") {
      const camp = campaignOf(S.lead);
      const number = $("contract").value.trim();
      if (camp && camp.contract_number_pattern && !number) {
        $("contract-wrap").hidden = false;
        $("contract").focus();
        notice(t("contract_needed", { pattern: camp.contract_number_pattern }), true);
        return;
      }
      if (number) body.contract_number = number;
    }
    if (outcome === "callback") {
      if (!promise) {
        const at = $("p-at").value;
        if (!at) { notice(t("callback_pick"), true); document.querySelector("button.book").focus(); return; }
        promise = { at, owner: owner() };
      }
      body.promise = promise;
    }
    if (NEVER_AGAIN.has(outcome) && !(await confirmNever())) return;
    const r = await api("POST", `/api/calls/${c.id}/disposition`, body);
    if (r.status === 200) {
      c.done = true;
      S.claimed = null;
      $("contract").value = "";
      fill($("p-suggest"));
      notice(t("recorded", { outcome: t(`out_${outcome}`) }));
      renderCall();
      await Promise.all([reloadAgent(), loadStats(), loadPromises(), refreshLead()]);
      return;
    }
    if (r.status === 409 && r.body && Array.isArray(r.body.suggestions)) { suggest(r.body); return; }
    notice(errorText(r), true);
  }

  // -- the promise booker -------------------------------------------------------------
  function owner() {
    const o = document.querySelector("input[name=owner]:checked");
    return o ? o.value : "me";
  }
  function todaysEnd(camp, w) {
    let end = null;
    const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (const rule of (camp && camp.calling_hours) || []) {
      const ok = String(rule.days).toLowerCase().split(",").some((part) => {
        const [a, b] = part.trim().split("-").map((x) => days.indexOf(x.slice(0, 3)));
        if (a < 0) return false;
        const d = days.indexOf(w.dow);
        return b === undefined || b < 0 ? d === a : a <= b ? d >= a && d <= b : d >= a || d <= b;
      });
      if (ok && (end === null || rule.end > end)) end = rule.end;
    }
    return end;
  }
  // "This evening": a window from 18:00 (or the next minute, when later) to the
  // end of today's calling hours in the campaign's zone.
  function quickSpec(kind) {
    if (kind === "10" || kind === "30") return { in_minutes: Number(kind) };
    const camp = campaignOf(S.lead);
    const w = wall(now(), camp && camp.timezone);
    if (kind === "lunch") {
      const day = w.hm < "13:00" ? w.date : wall(now() + 86400000, camp && camp.timezone).date;
      const start = w.hm > "12:00" && w.hm < "13:00" ? w.hm : "12:00";
      return { window: { start: `${day}T${start}`, end: `${day}T13:00` } };
    }
    const end = todaysEnd(camp, w) || "21:00";
    const next = wall(now() + 60000, camp && camp.timezone).hm;
    const start = next > "18:00" ? next : "18:00";
    if (start >= end) return null;
    return { window: { start: `${w.date}T${start}`, end: `${w.date}T${end}` } };
  }

  async function book(spec) {
    if (!spec) { notice(t("p_evening_over"), true); return; }
    const promise = { ...spec, owner: owner() };
    if (S.call && !S.call.done && S.call.lead_id === (S.lead && S.lead.id)) {
      await dispose("callback", promise);
      return;
    }
    if (!S.lead || S.claimed !== S.lead.id) { notice(t("p_no_lead"), true); return; }
    const r = await api("POST", `/api/leads/${S.lead.id}/promises`, promise);
    if (r.status === 201) {
      fill($("p-suggest"));
      notice(t("p_booked", { time: fmt(r.body.due_at) }));
      await Promise.all([loadPromises(), refreshLead()]);
    } else if (r.status === 409 && r.body && Array.isArray(r.body.suggestions)) {
      suggest(r.body);
    } else {
      notice(errorText(r), true);
    }
  }

  function suggest(body) {
    const key = `p_refused_${body.code}`;
    fill($("p-suggest"),
      el("span", { text: T[key] ? t(key) : t("err_generic", { code: body.code }) }),
      ...body.suggestions.map((s) => el("button", { type: "button", class: "suggestion", onclick: () => book({ at: s }) }, fmt(s))));
    const first = $("p-suggest").querySelector("button");
    if (first) first.focus();
    notice("");
  }

  // `alertDue`: also alert for promises already due (a page just loaded, or a
  // stream started afresh); otherwise alerts come from the stream alone.
  async function loadPromises({ alertDue = false } = {}) {
    const [a, m] = await Promise.all([
      api("GET", `/api/agents/${S.agent.id}/promises?status=scheduled`),
      api("GET", `/api/agents/${S.agent.id}/promises?status=missed`),
    ]);
    if (a.status === 200) S.promises = a.body.items;
    if (m.status === 200) S.missed = m.body.items.slice(-5);
    renderPromises();
    if (alertDue && a.status === 200) {
      for (const p of S.promises) {
        if (Date.parse(p.due_at) <= now()) {
          dueAlert({ promise_id: p.id, lead_id: p.lead_id, due_at: p.due_at, lead_name: p.lead_name, company: p.company }, "list");
        }
      }
    }
  }
  function renderPromises() {
    const list = $("p-list");
    const rows = [...S.promises].sort((x, y) => Date.parse(x.due_at) - Date.parse(y.due_at));
    const items = rows.map((p) => el("li", { "data-promise": p.id },
      el("strong", { text: p.lead_name || p.company || `#${p.lead_id}` }), " ",
      el("time", { datetime: p.due_at, text: fmt(p.due_at, zoneOf(p.campaign_id)) }), " ",
      el("span", { class: "countdown", "data-due": p.due_at })));
    const missed = S.missed.map((p) => el("li", { "data-promise": p.id },
      el("strong", { text: p.lead_name || p.company || `#${p.lead_id}` }), " ",
      el("time", { datetime: p.due_at, text: fmt(p.due_at, zoneOf(p.campaign_id)) }),
      el("span", { class: "tag missed", text: t("p_missed") })));
    fill(list, ...items, ...missed);
    if (!items.length && !missed.length) list.append(el("li", { text: t("p_none") }));
    repaint();
  }

  // -- the due alert ------------------------------------------------------------------
  // `from`: the stream (live or replayed) or the promise list (on load).
  function dueAlert(d, from) {
    const key = String(d.promise_id ?? d.lead_id);
    if (S.alerts.has(key)) return;
    const name = d.lead_name || d.company || `#${d.lead_id}`;
    const box = el("div", { class: "alert", role: "alert", "data-lead": d.lead_id, "data-from": from },
      el("span", { text: t("due_alert", { name }) }), " ",
      el("time", { datetime: d.due_at, text: fmt(d.due_at, zoneOf(d.campaign_id)) }), " ",
      el("button", { type: "button", class: "primary", onclick: () => callBack(d.lead_id, key) }, t("call_back_now")),
      el("button", { type: "button", onclick: () => dropAlert(key) }, t("dismiss")));
    S.alerts.set(key, box);
    $("alerts").append(box);
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification(t("due_alert", { name }), { body: fmt(d.due_at), tag: `promise-${key}` }); } catch { /* shown in the page anyway */ }
    }
    if ($("sound").checked) beep();
  }
  function dropAlert(key) {
    const box = S.alerts.get(key);
    if (box) box.remove();
    S.alerts.delete(key);
  }
  // The agent lets go of the lead it holds (back where it was, no attempt counted).
  async function releaseLead() {
    if (callLive() || S.claimed === null) return;
    const r = await api("DELETE", `/api/agents/${S.agent.id}/claim`);
    if (r.status !== 204) { notice(errorText(r), true); return; }
    S.claimed = null;
    S.lead = null;
    fill($("lead"));
    fill($("script"));
    $("incoming").hidden = true;
    renderCall();
  }

  async function callBack(leadId, key) {
    if (callLive()) { notice(t("call_live"), true); return; }
    // In wrap-up `next` would refuse: keep the lead held until it ends.
    const until = S.agent && S.agent.wrapup_until ? Date.parse(S.agent.wrapup_until) : 0;
    if (until > now()) { notice(t("err_in_wrapup", { time: fmt(S.agent.wrapup_until) }), true); return; }
    if (S.claimed !== leadId) {
      // Whatever this page believes, the service may hold another claim for the
      // agent (a screen pop): releasing is a no-op (204) when there is none.
      const r = await api("DELETE", `/api/agents/${S.agent.id}/claim`);
      if (r.status !== 204) { notice(errorText(r), true); return; }
      S.claimed = null;
    }
    await takeNext();
    if (S.lead && S.lead.id === leadId) dropAlert(key);
  }
  let audio = null;
  function beep() {
    try {
      audio = audio || new AudioContext();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.15;
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.4);
    } catch { /* no audio device: the alert is on screen */ }
  }

  // -- inbound ------------------------------------------------------------------------
  async function incoming(d) {
    const box = $("incoming");
    if (!d.lead_id) {
      fill(box, el("p", { text: t("incoming_unmatched", { phone: d.phone || "?" }) }));
      box.hidden = false;
      return;
    }
    let promise = null;
    if (d.promise_id) {
      const r = await api("GET", `/api/promises/${d.promise_id}`);
      if (r.status === 200) promise = r.body;
    }
    if (d.claimed) S.claimed = d.lead_id;
    await showLead(d.lead_id, { reason: promise ? "promise" : null, promise });
    fill(box,
      el("p", { text: t("incoming", { phone: d.phone || "?" }) }),
      promise ? el("p", { text: t("promise_about", { time: fmt(promise.due_at) }) }) : null);
    box.hidden = false;
    loadPromises();
  }

  // -- timers: repaint only ------------------------------------------------------------
  function repaint() {
    const n = now();
    const a = S.agent;
    if (a && a.state_changed_at) $("state-time").textContent = span(n - Date.parse(a.state_changed_at));
    const w = $("wrapup");
    const until = a && a.wrapup_until ? Date.parse(a.wrapup_until) : 0;
    w.hidden = !(until > n);
    if (until > n) w.textContent = t("wrapup_left", { time: span(until - n) });
    const c = S.call;
    $("call-timer").textContent = c && c.talkSince !== null ? span((c.done || !LIVE.has(c.status) ? (c.endedAt ??= n) : n) - c.talkSince) : "0:00";
    for (const cd of document.querySelectorAll(".countdown")) {
      const left = Date.parse(cd.dataset.due) - n;
      cd.textContent = left > 0 ? t("p_due_in", { time: span(left) }) : t("p_due_now");
    }
  }

  // -- actions before the console is ready --------------------------------------------
  // The buttons are wired at once, but their work needs the session (the agent's id,
  // the CSRF token) and the claim read at start. A click or a shortcut in that time
  // would fail or be lost; it is held (capture phase, before any handler) and
  // replayed in order once the console is ready, while the page is aria-busy.
  const early = { ready: false, held: [] };
  function holdEarly() {
    document.querySelector("main")?.setAttribute("aria-busy", "true");
    document.addEventListener("click", (ev) => {
      if (early.ready || !(ev.target instanceof Element)) return;
      const b = ev.target.closest("button");
      if (!b || b.disabled || b.closest("dialog")) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      if (!early.held.some((h) => h.button === b)) early.held.push({ button: b });
    }, true);
  }
  function releaseEarly() {
    early.ready = true;
    document.querySelector("main")?.removeAttribute("aria-busy");
    for (const h of early.held.splice(0)) {
      if (h.button) h.button.click();
      else shortcut(h.key);
    }
  }

  // -- keyboard -----------------------------------------------------------------------
  // The button a shortcut stands for, or null.
  function shortcutButton(k) {
    if (k === "n") return $("next-lead");
    if (k === "d") return $("dial");
    if (k === "h") return $("hangup");
    if (/^[0-9]$/.test(k)) return document.querySelector(`button.outcome[data-key="${k}"]`);
    return null;
  }
  function shortcut(k) {
    const b = shortcutButton(k);
    if (b && !b.disabled) { b.click(); return true; }
    return false;
  }
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || $("confirm-never").open) return;
    const k = ev.key.toLowerCase();
    // Before the console is ready its buttons are still disabled: the shortcut waits.
    if (!early.ready) {
      if (shortcutButton(k)) { ev.preventDefault(); early.held.push({ key: k }); }
      return;
    }
    if (shortcut(k)) ev.preventDefault();
  }

  // -- start ----------------------------------------------------------------------------
  function wire() {
    for (const b of document.querySelectorAll("button.state")) b.addEventListener("click", () => setState(b.dataset.state));
    $("next-lead").addEventListener("click", takeNext);
    $("release-lead").addEventListener("click", releaseLead);
    $("dial").addEventListener("click", () => dial(null));
    $("hangup").addEventListener("click", hangUp);
    $("mute").addEventListener("click", toggleMute);
    for (const k of document.querySelectorAll("button.key")) k.addEventListener("click", () => sendDigit(k.dataset.digit));
    for (const b of document.querySelectorAll("button.outcome")) b.addEventListener("click", () => dispose(b.dataset.outcome));
    for (const b of document.querySelectorAll("button.book")) b.addEventListener("click", () => book(quickSpec(b.dataset.book)));
    $("p-book").addEventListener("click", () => {
      const at = $("p-at").value;
      if (at) book({ at }); else $("p-at").focus();
    });
    $("sound").checked = localStorage.getItem("dialer_sound") === "1";
    $("sound").addEventListener("change", () => {
      localStorage.setItem("dialer_sound", $("sound").checked ? "1" : "0");
      if ($("sound").checked) beep();
    });
    $("notify").addEventListener("click", () => { if ("Notification" in window) Notification.requestPermission(); });
    $("notify").hidden = !("Notification" in window) || Notification.permission !== "default";
    $("sign-out").addEventListener("click", async () => {
      await api("DELETE", "/api/session");
      location.assign(cfg.base + "/login");
    });
    if ($("mic-check")) $("mic-check").addEventListener("click", checkMic);
    document.addEventListener("keydown", onKey);
    // Hidden tabs throttle timers: nothing depends on them, and the countdowns are
    // recomputed from the service's clock as soon as the tab is back.
    document.addEventListener("visibilitychange", () => { if (!document.hidden) syncClock(); });
    setInterval(repaint, 1000);
    setInterval(() => { if (!document.hidden) syncClock(); }, 5000);
    // The console open in a background tab is still the agent at work: a read
    // every few minutes (throttled tabs still run it) keeps the session from
    // idling out under DIALER_SESSION_IDLE_MINUTES; its hours still end it.
    setInterval(() => { if (document.hidden) api("GET", "/api/session"); }, 240000);
  }

  async function boot() {
    holdEarly();
    wire();
    const r = await api("GET", "/api/session");
    if (r.status !== 200) { location.assign(cfg.base + "/login"); return; }
    S.agent = r.body.agent;
    S.csrf = r.body.csrf_token;
    $("who").textContent = t("signed_in_as", { name: S.agent.name });
    setConnected(false);
    $("banner").hidden = true;
    await Promise.all([syncClock(), loadCampaigns()]);
    renderState();
    openStream();
    // Next lead needs only the account: asking while holding a claim returns it.
    $("next-lead").disabled = false;
    await Promise.all([loadStats(), loadPromises({ alertDue: true }), resumeClaim()]);
    document.body.dataset.ready = "true";
    releaseEarly();
    startTwilio();
  }
  // A start that failed half-way (a read refused, the network gone) still lets the
  // agent's clicks through: held forever they would be a dead page.
  boot().finally(() => { if (!early.ready) releaseEarly(); });
})();
