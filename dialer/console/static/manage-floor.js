// The live floor (/manage). Plain browser JavaScript over window.Manage: one
// EventSource on /api/floor/events per chosen campaign, each `floor` event a
// whole snapshot painted as it comes. Nothing polls: the only timer repaints the
// time each agent has been in its state, from `state_changed_at` and the
// service's clock (GET /api/clock once, and again when the tab comes back).
"use strict";
(() => {
  const M = window.Manage;
  const t = M.t;
  const $ = (id) => document.getElementById(id);
  // The queue's blocks in the order a manager reads them: what lifts by itself first.
  const RULES = [
    "calling_hours", "holiday", "retry_delay", "daily_limit", "promise_pending", "claimed",
    "campaign_paused", "max_attempts", "dnc", "terminal_status",
  ];

  const S = {
    campaignId: null, es: null, snap: null, connected: false,
    clock: { mode: "system", at: 0, offset: 0 },
  };

  // -- time -------------------------------------------------------------------------
  // A simulated clock stands still between advances: the latest of what the
  // service said (the clock, each snapshot's `as_of`); the system one runs with ours.
  function now() {
    if (S.clock.mode === "simulated") {
      const asOf = S.snap ? Date.parse(S.snap.as_of) : 0;
      return Math.max(S.clock.at, asOf || 0);
    }
    return Date.now() + S.clock.offset;
  }
  async function syncClock() {
    const sent = Date.now();
    const r = await M.api("GET", "/api/clock");
    if (r.status !== 200) return;
    const got = Date.parse(r.body.now);
    S.clock = { mode: r.body.mode, at: got, offset: got - (sent + Date.now()) / 2 };
    repaintTimes();
  }
  function secondsSince(iso) {
    return iso ? Math.max(0, Math.floor((now() - Date.parse(iso)) / 1000)) : 0;
  }
  const zone = () => (S.snap && S.snap.timezone) || undefined;
  // A floor is about today: an instant of the campaign's today shows its local
  // time alone ("09:00"), another day's its date too ("2 Dec, 09:00").
  const dayOf = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: zone() }).format(new Date(ms));
  function time(iso) {
    if (!iso) return "—";
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return String(iso);
    const other = dayOf(ms) !== dayOf(now());
    return new Intl.DateTimeFormat(M.cfg.lang === "ja" ? "ja-JP" : "en-GB", {
      timeZone: zone(), hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      ...(other ? { month: "short", day: "numeric" } : {}),
    }).format(new Date(ms));
  }
  // Empty cells say so in words a screen reader reads, not by being blank.
  const dash = () => M.el("span", { "aria-label": "—", text: "—" });

  // What an agent is doing and since when: the floor's rule decides
  // (dialer/agents/floor_rules.py), the snapshot carries its answer.
  const activityOf = (a) => a.activity;
  const sinceOf = (a) => a.activity_since;
  // Colour by time in state: the snapshot's thresholds ([warn, alert] seconds per
  // activity) decide; a label says it in words too, never colour alone.
  function level(a, seconds) {
    const th = S.snap.thresholds || {};
    const pair = th[activityOf(a)];
    if (!Array.isArray(pair)) return "ok";
    if (pair[1] != null && seconds >= pair[1]) return "alert";
    if (pair[0] != null && seconds >= pair[0]) return "warn";
    return "ok";
  }

  // -- the stream ----------------------------------------------------------------------
  function setConnected(on) {
    S.connected = on;
    $("floor-banner").hidden = on;
    const c = $("floor-conn");
    c.dataset.state = on ? "ok" : "lost";
    c.textContent = on ? t("live.conn_ok") : t("live.conn_lost");
  }
  function watch(campaignId) {
    if (campaignId === S.campaignId && S.es) return;
    if (S.es) S.es.close();
    S.campaignId = campaignId;
    S.snap = null;
    const c = $("floor-conn");
    c.dataset.state = "connecting";
    c.textContent = t("live.conn_connecting");
    if (!campaignId) return;
    const es = new EventSource(
      `${M.cfg.base}/api/floor/events?campaign_id=${encodeURIComponent(campaignId)}`,
      { withCredentials: true },
    );
    S.es = es;
    es.onopen = () => setConnected(true);
    es.onerror = () => {
      if (S.es !== es) return;
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (an ended session, a campaign gone): the session
        // read sends an ended one to sign in; else open afresh a little later.
        setTimeout(async () => {
          if (S.es !== es) return;
          const r = await M.api("GET", "/api/session");
          if (r.status === 200 && S.es === es) { S.es = null; watch(campaignId); }
          else if (S.es === es) setTimeout(() => es.onerror(), 3000);
        }, 3000);
      }
    };
    es.addEventListener("floor", (ev) => {
      if (S.es !== es) return;
      let snap;
      try { snap = JSON.parse(ev.data); } catch { return; }
      if (!S.connected) setConnected(true);
      S.snap = snap;
      paint();
    });
  }

  // -- painting -------------------------------------------------------------------------
  function rows(tbodyId, emptyId, items, row) {
    $(tbodyId).replaceChildren(...items.map(row));
    $(emptyId).hidden = items.length > 0;
  }
  function leadLink(id, name, company) {
    if (!id) return dash();
    const text = [name || `#${id}`, company].filter(Boolean).join(" · ");
    return M.el("a", { href: `${M.cfg.base}/manage/leads/${id}`, text });
  }
  function stateText(a) {
    let text;
    if (a.state === "paused" && a.pause_code) text = t("live.state_paused_code", { code: a.pause_code });
    else text = t(`live.state_${a.state}`);
    if (a.state_reason === "connection_lost") text += ` ${t("live.state_lost")}`;
    const doing = activityOf(a);
    if (["talking", "dialing", "wrapup", "working"].includes(doing)) text += ` · ${t(`live.act_${doing}`)}`;
    return text;
  }
  function callCell(call) {
    if (!call) return dash();
    return M.el("span", { class: `call-status call-${call.status}` },
      t(`live.call_${call.status}`), " ",
      M.el("span", { class: "live-muted", text: call.to || "" }));
  }
  function agentRow(a) {
    const stateCell = M.el("td", {},
      M.el("span", { class: `state state-${a.state}`, text: stateText(a) }));
    if (activityOf(a) === "wrapup" && a.wrapup_until) {
      stateCell.append(" ", M.el("span", { class: "live-muted", text: t("live.wrapup_until", { time: time(a.wrapup_until) }) }));
    }
    if (a.connected === false) {
      stateCell.append(" ", M.el("span", { class: "live-muted", text: t("live.console_closed") }));
    }
    const timeCell = M.el("td", { class: "in-state", "data-agent": String(a.id) });
    const working = a.lead
      ? M.el("td", {}, leadLink(a.lead.id, a.lead.name, a.lead.company), " ",
        M.el("span", { class: "live-muted", text: t("live.claimed_at", { time: time(a.lead.claimed_at) }) }))
      : M.el("td", {}, dash());
    return M.el("tr", { "data-agent-id": String(a.id) },
      M.el("th", { scope: "row", text: a.name }), stateCell, timeCell, working,
      M.el("td", {}, callCell(a.call)));
  }
  function callRow(c) {
    return M.el("tr", {},
      M.el("td", {}, leadLink(c.lead_id, c.lead_name)),
      // A predictive call is placed for no agent: the next one free takes it.
      M.el("td", { text: c.agent_name || (c.agent_id ? `#${c.agent_id}` : t("live.next_free_agent")) }),
      M.el("td", { text: c.to || "—" }),
      M.el("td", {}, callCell({ status: c.status })),
      M.el("td", { text: time(c.answered_at || c.created_at) }));
  }
  function promiseRow(p) {
    const owner = p.owner === "anyone" || !p.agent_id ? t("live.anyone") : agentName(p.agent_id);
    return M.el("tr", {},
      M.el("td", { text: time(p.due_at) }),
      M.el("td", {}, leadLink(p.lead_id, p.lead_name, p.company)),
      M.el("td", { text: owner }));
  }
  function agentName(id) {
    const a = (S.snap.agents || []).find((x) => x.id === id);
    return a ? a.name : `#${id}`;
  }

  function paint() {
    const s = S.snap;
    if (!s) return;
    $("floor-asof").textContent = t("live.as_of", { time: time(s.as_of) });
    $("floor-mode").textContent = t("live.dial_mode", { mode: t(`live.mode_${s.dial_mode}`) });
    $("floor-paused").hidden = s.status !== "paused";
    rows("floor-agents", "floor-agents-empty", s.agents || [], agentRow);
    rows("floor-calls", "floor-calls-empty", s.calls_live || [], callRow);
    rows("floor-soon", "floor-soon-empty", s.promises_due_soon || [], promiseRow);
    rows("floor-missed", "floor-missed-empty", s.promises_missed_today || [], promiseRow);
    paintBlocked(s.dialing_blocked);
    paintQueue(s.queue);
    paintPacing(s.pacing, s.abandon_window || (s.pacing && s.pacing.abandon_window) || null);
    repaintTimes();
  }

  function paintBlocked(block) {
    const box = $("floor-blocked");
    if (!block) { box.hidden = true; box.replaceChildren(); return; }
    const key = block.scope === "account" ? "live.blocked_account" : "live.blocked_campaign";
    const detail = M.blockText(block);
    box.replaceChildren(
      M.el("span", { text: t(key, { detail, time: time(block.since) }) }), " ",
      M.el("a", { href: `${M.cfg.base}/manage/campaigns/${S.snap.campaign_id}`, text: t("live.blocked_link") }));
    box.hidden = false;
  }

  // The queue diagnosis in words: "Callable now: 0 — 812 outside calling hours
  // until 09:00, 40 waiting for a retry, 3 promises pending".
  function counted(key, n, vars = {}) {
    const one = `${key}_one`;
    const k = n === 1 && M.t(one) !== one ? one : key;
    return t(k, { n: n.toLocaleString(M.cfg.lang === "ja" ? "ja-JP" : "en-GB"), ...vars });
  }
  function opening(q, closedBy) {
    // The earliest opening of a zone closed by this rule (the leads wait for it).
    const zones = (q.zones || []).filter((z) => !z.open && z.closed_by === closedBy && z.opens_at);
    if (!zones.length) return null;
    return zones.reduce((a, b) => (Date.parse(a.opens_at) <= Date.parse(b.opens_at) ? a : b));
  }
  function diagnosis(q) {
    const parts = [];
    const blocked = q.blocked || {};
    const seen = new Set();
    for (const rule of [...RULES, ...Object.keys(blocked)]) {
      const n = blocked[rule];
      if (seen.has(rule) || !n) continue;
      seen.add(rule);
      if (rule === "calling_hours" || rule === "holiday") {
        const z = opening(q, rule);
        const holiday = z && z.holiday ? z.holiday : null;
        if (z && (rule === "calling_hours" || holiday)) {
          parts.push(counted(`live.q_${rule}_until`, n, { time: time(z.opens_at), holiday }));
          continue;
        }
      }
      parts.push(counted(`live.q_${rule}`, n));
    }
    let text = counted("live.q_callable", q.callable_now || 0);
    if (parts.length) text += t("live.q_dash") + parts.join(t("live.q_sep"));
    return text;
  }
  function paintQueue(q) {
    const next = $("floor-queue-next");
    if (!q) {
      $("floor-queue").textContent = t("live.q_computing");
      next.hidden = true;
      return;
    }
    $("floor-queue").textContent = diagnosis(q);
    const lines = [];
    if (q.promises_due) lines.push(counted("live.q_promises_due", q.promises_due));
    if (!q.callable_now && q.waiting_on) {
      const reason = t(`live.why_${q.waiting_on}`);
      lines.push(q.next_callable_at
        ? t("live.q_next", { time: time(q.next_callable_at), reason })
        : t("live.q_stuck", { reason }));
    }
    next.replaceChildren(...lines.map((line) => M.el("span", { class: "line", text: line })));
    next.hidden = lines.length === 0;
  }

  function percent(x) {
    if (x == null) return "—";
    return new Intl.NumberFormat(M.cfg.lang === "ja" ? "ja-JP" : "en-GB", {
      style: "percent", maximumFractionDigits: 1,
    }).format(x);
  }
  // The abandon rate over the campaign's policy window (what the cap is about),
  // beside today's: over the cap, in words and in the alert colour.
  function paintWindow(w) {
    const box = $("abandon-window");
    box.hidden = !w;
    $("floor-pacing").dataset.level = w && w.over ? "alert" : "ok";
    if (!w) return;
    $("abandon-window-title").textContent = t("live.abandon_window", { days: w.window_days });
    const dd = $("abandon-window-value");
    const cap = percent(w.max_rate);
    dd.dataset.level = w.over ? "alert" : "ok";
    if (w.rate == null) { dd.replaceChildren(t("live.abandon_none", { cap })); return; }
    dd.replaceChildren(
      t("live.abandon_of_cap", { rate: percent(w.rate), cap, abandoned: w.abandoned, answered: w.answered }), " ",
      M.el("strong", { class: `level level-${w.over ? "alert" : "ok"}`, text: w.over ? t("live.over_cap") : t("live.within_cap") }));
  }
  function paintPacing(p, w) {
    // Null for preview campaigns: nothing is paced (an agent's own call is never abandoned).
    $("floor-pacing").hidden = !p;
    if (!p) return;
    paintWindow(w);
    $("pacing-level").textContent = p.dial_level == null ? "—" : String(p.dial_level);
    $("pacing-flight").textContent = String(p.calls_in_flight ?? "—");
    $("pacing-available").textContent = String(p.agents_available ?? "—");
    const cap = percent(p.abandon_cap);
    const dd = $("pacing-abandon");
    if (p.abandon_rate == null) {
      dd.replaceChildren(t("live.abandon_none", { cap }));
      dd.dataset.level = "ok";
      return;
    }
    const over = p.abandon_rate > p.abandon_cap;
    dd.dataset.level = over ? "alert" : "ok";
    dd.replaceChildren(
      t("live.abandon_of_cap", {
        rate: percent(p.abandon_rate), cap,
        abandoned: p.abandoned_today, answered: p.answered_today,
      }), " ",
      M.el("strong", { class: `level level-${over ? "alert" : "ok"}`, text: over ? t("live.over_cap") : t("live.within_cap") }));
  }

  // Every second: each agent's time in state, its colour and its label.
  function repaintTimes() {
    if (!S.snap) return;
    const byId = new Map((S.snap.agents || []).map((a) => [String(a.id), a]));
    for (const cell of document.querySelectorAll("#floor-agents td.in-state")) {
      const a = byId.get(cell.dataset.agent);
      if (!a) continue;
      const seconds = secondsSince(sinceOf(a));
      const lv = level(a, seconds);
      cell.dataset.level = lv;
      const clock = M.el("span", { class: "clock", text: M.fmtDuration(seconds) });
      const label = lv === "ok" ? null : M.el("span", { class: `level level-${lv}`, text: t(`live.level_${lv}`) });
      cell.replaceChildren(...[clock, label].filter(Boolean).flatMap((x, i) => (i ? [" ", x] : [x])));
    }
  }

  async function start() {
    await M.ready;
    await syncClock();
    const select = $("floor-campaign");
    const chosen = (x) => {
      const id = x && typeof x === "object" ? x.id : Number(x);
      watch(Number.isFinite(id) && id > 0 ? id : null);
    };
    await M.campaignPicker(select, { onChange: chosen });
    if (select.value) chosen(select.value);
    setInterval(repaintTimes, 1000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) syncClock(); });
  }
  start().finally(() => M.settled());
})();
