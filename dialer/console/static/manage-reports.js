// The reports page (/manage/reports). Plain browser JavaScript over window.Manage:
// one campaign, a range of its local dates (From/To, `until` inclusive, as the
// API reads them), each report read from its /api/reports endpoint and drawn as
// a table; the two charts are the service's SVGs (<img>, drawn server-side) with
// the same figures in the table beside. Every table downloads as its `.csv`.
"use strict";
(() => {
  const M = window.Manage;
  const t = M.t;
  const $ = (id) => document.getElementById(id);
  const locale = M.cfg.lang === "ja" ? "ja-JP" : "en-GB";
  const DATE = /^\d{4}-\d{2}-\d{2}$/;

  const S = { asked: null, campaign: null, since: null, until: null, today: null, seq: 0 };

  // Each table: the endpoint (JSON and `.csv` beside it), its title key, the file name.
  const REPORTS = {
    "report-leaderboard": {
      title: "live.leaderboard", file: "leaderboard",
      path: () => `/api/reports/agents`, query: () => ({ campaign_id: S.campaign.id }),
      paint: paintLeaderboard,
    },
    "report-funnel": { title: "live.funnel", file: "funnel", path: () => campaignPath("funnel"), paint: paintFunnel },
    "report-channels": { title: "live.channels", file: "conversions", path: () => campaignPath("conversions"), paint: paintChannels },
    "report-promises": { title: "live.promises_kept", file: "promises", path: () => campaignPath("promises"), paint: paintPromises },
    "report-hours": { title: "live.hours", file: "hours", path: () => campaignPath("hours"), paint: paintHours },
    // The compliance report names its range `from`/`to` (the same local dates).
    "report-compliance": {
      title: "live.compliance", file: "compliance", path: () => campaignPath("compliance"),
      range: () => ({ from: S.since, to: S.until }), paint: paintCompliance,
    },
    // The campaign report: its `abandon` standing and the learned `hour_rates`
    // (both as of now, whatever the range); no download of its own here.
    "report-learned": {
      title: "live.learned", path: () => `/api/reports/campaigns/${S.campaign.id}`, paint: paintLearned,
    },
  };
  const campaignPath = (name) => `/api/reports/campaigns/${S.campaign.id}/${name}`;
  function query(report, extra = {}) {
    const range = report.range ? report.range() : { since: S.since, until: S.until };
    const q = new URLSearchParams({ ...(report.query ? report.query() : {}), ...range, ...extra });
    return `?${q}`;
  }

  // -- numbers --------------------------------------------------------------------
  const num = (n) => (n == null ? "—" : Number(n).toLocaleString(locale));
  const pct = (x) => (x == null ? "—" : new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(x));
  const cell = (text, cls) => M.el("td", { class: cls, text: String(text) });
  const ncell = (text) => cell(text, "num");
  function fill(tbodyId, rows, columns) {
    const body = $(tbodyId);
    if (!rows.length) {
      body.replaceChildren(M.el("tr", {}, M.el("td", { colspan: String(columns), class: "live-empty", text: t("live.no_rows") })));
      return;
    }
    body.replaceChildren(...rows);
  }

  // -- dates in the campaign's zone -------------------------------------------------
  function localDate(ms, zone) {
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}`;
  }
  async function serviceNow() {
    const r = await M.api("GET", "/api/clock");
    return r.status === 200 ? Date.parse(r.body.now) : Date.now();
  }

  // -- painting -----------------------------------------------------------------------
  function paintLeaderboard(body) {
    const rows = (body.agents || []).map((a) => M.el("tr", {},
      M.el("th", { scope: "row", text: a.name }),
      ncell(num(a.calls)), ncell(num(a.contacts)), ncell(M.fmtDuration(a.talk_seconds || 0)),
      ncell(num(a.conversions ? a.conversions.total : 0)), ncell(pct(a.conversion_rate)),
      ncell(num(a.promises ? a.promises.made : 0)), ncell(num(a.promises ? a.promises.kept : 0)),
      ncell(num(a.promises ? a.promises.missed : 0))));
    fill("leaderboard-rows", rows, 9);
  }
  function paintFunnel(body) {
    const rows = (body.stages || []).map((s) => M.el("tr", {},
      M.el("th", { scope: "row", text: t(`live.stage_${s.stage}`) }), ncell(num(s.count)), ncell(pct(s.rate))));
    fill("funnel-rows", rows, 3);
    const days = body.median_days_to_conversion;
    $("median-value").textContent = days == null
      ? t("live.median_none")
      : t("live.median_value", { days: Number(days).toLocaleString(locale, { maximumFractionDigits: 1 }) });
  }
  function paintChannels(body) {
    const rows = (body.channels || []).map((c) => M.el("tr", {},
      M.el("th", { scope: "row", text: t(`live.ch_${c.channel}`) }), ncell(num(c.gross)), ncell(num(c.cancelled)), ncell(num(c.net))));
    fill("channels-rows", rows, 4);
    const total = body.total || {};
    $("channels-total").replaceChildren(M.el("tr", {},
      M.el("th", { scope: "row", text: t("live.total") }), ncell(num(total.gross)), ncell(num(total.cancelled)), ncell(num(total.net))));
  }
  function paintPromises(body) {
    const rows = (body.agents || []).map((a) => M.el("tr", {},
      M.el("th", { scope: "row", text: a.name }), ncell(num(a.made)), ncell(num(a.kept)), ncell(num(a.missed)), ncell(pct(a.kept_rate))));
    fill("promises-rows", rows, 5);
    chart("promises-chart", "promises.svg", t("live.promises_chart_alt", period()));
  }
  function paintHours(body) {
    const rows = (body.hours || []).map((h) => M.el("tr", {},
      M.el("th", { scope: "row", text: `${String(h.hour).padStart(2, "0")}:00` }),
      ncell(num(h.calls)), ncell(num(h.answered)), ncell(pct(h.answer_rate))));
    fill("hours-rows", rows, 4);
    chart("hours-chart", "hours.svg", t("live.hours_chart_alt", { ...period(), zone: body.timezone || S.campaign.timezone }));
  }
  // Passing in words and colour: a count of 0 passes, anything else fails.
  const verdict = (ok) => M.el("td", {}, M.el("strong", {
    class: `level level-${ok ? "ok" : "alert"}`, text: ok ? t("live.passed") : t("live.failed"),
  }));
  const checkName = (check) => (M.t(`live.check_${check}`) === `live.check_${check}` ? check : t(`live.check_${check}`));
  const zoneOf = (body) => body.timezone || S.campaign.timezone;
  function paintCompliance(body) {
    const zone = zoneOf(body);
    $("compliance-summary").textContent = t("live.compliance_summary", {
      dials: num(body.dials), ...period(), zone,
    });
    const p = body.policy || {};
    $("compliance-policy").textContent = t("live.compliance_policy", {
      cap: pct(p.max_rate), days: num(p.window_days), seconds: num(p.connect_seconds), hours: num(p.no_recall_hours),
    });
    const checks = (body.checks || []).map((c) => M.el("tr", { "data-check": c.check },
      M.el("th", { scope: "row", text: checkName(c.check) }), ncell(num(c.count)), verdict(c.ok)));
    fill("checks-rows", checks, 3);
    const lead = (id) => (id ? M.el("a", { href: `${M.cfg.base}/manage/leads/${id}`, text: t("live.lead_n", { id }) }) : "—");
    const violations = (body.violations || []).map((v) => M.el("tr", {},
      M.el("td", { text: checkName(v.check) }), M.el("td", {}, lead(v.lead_id)),
      ncell(v.call_id ?? "—"),
      M.el("td", {}, M.el("time", { datetime: v.at, text: M.fmtTime(v.at, zone) })),
      // The service's own sentence, in English whatever the page's language: said so.
      M.el("td", { text: v.detail || "", lang: "en" })));
    const vbody = $("violations-rows");
    if (violations.length) vbody.replaceChildren(...violations);
    else vbody.replaceChildren(M.el("tr", {}, M.el("td", { colspan: "5", class: "live-empty", text: t("live.no_violations") })));
    $("violations-truncated").hidden = !body.violations_truncated;
    const windows = (body.abandon_windows || []).map((w) => M.el("tr", {},
      M.el("th", { scope: "row", text: M.fmtDate(w.day) }),
      M.el("td", {}, M.el("time", { datetime: w.since_at, text: M.fmtTime(w.since_at, zone) })),
      ncell(num(w.answered)), ncell(num(w.abandoned)), ncell(pct(w.rate)), verdict(!w.over)));
    fill("windows-rows", windows, 6);
  }
  function paintLearned(body) {
    const rows = (body.hour_rates || []).map((h) => M.el("tr", {},
      M.el("th", { scope: "row", text: `${String(h.hour).padStart(2, "0")}:00` }),
      ncell(num(h.attempts)), ncell(num(h.answered)), ncell(pct(h.rate)), ncell(pct(h.estimate))));
    fill("learned-rows", rows, 5);
    const a = body.abandon;
    const box = $("abandon-standing");
    if (!a) { box.replaceChildren(); return; }
    const vars = {
      days: num(a.window_days), cap: pct(a.max_rate), rate: pct(a.rate),
      abandoned: num(a.abandoned), answered: num(a.answered),
    };
    box.replaceChildren(
      a.rate == null ? t("live.abandon_standing_none", vars) : t("live.abandon_standing", vars), " ",
      M.el("strong", { class: `level level-${a.over ? "alert" : "ok"}`, text: a.over ? t("live.over_cap") : t("live.within_cap") }));
    box.dataset.level = a.over ? "alert" : "ok";
  }
  function period() {
    return { since: M.fmtDate(`${S.since}T12:00:00Z`, "UTC"), until: M.fmtDate(`${S.until}T12:00:00Z`, "UTC") };
  }
  function chart(id, name, alt) {
    const img = $(id);
    img.alt = alt;
    img.src = `${M.cfg.base}${campaignPath(name)}?${new URLSearchParams({ since: S.since, until: S.until, lang: M.cfg.lang })}`;
    img.hidden = false;
  }

  // -- loading ------------------------------------------------------------------------
  async function load() {
    if (!S.campaign || !S.since || !S.until) return;
    const err = $("reports-error");
    if (S.since > S.until) {
      err.textContent = t("live.range_bad");
      err.hidden = false;
      $("reports-from").setAttribute("aria-invalid", "true");
      return;
    }
    err.hidden = true;
    err.textContent = "";
    $("reports-from").removeAttribute("aria-invalid");
    const seq = ++S.seq;
    const p = period();
    $("reports-period").textContent = t("live.period", { ...p, zone: S.campaign.timezone });
    const url = new URL(location.href);
    url.searchParams.set("campaign_id", String(S.campaign.id));
    url.searchParams.set("since", S.since);
    url.searchParams.set("until", S.until);
    history.replaceState(null, "", url);
    const failures = [];
    await Promise.all(Object.entries(REPORTS).map(async ([id, report]) => {
      const button = document.querySelector(`button.csv[data-report="${id}"]`);
      if (button) button.disabled = true;
      const r = await M.api("GET", report.path() + query(report));
      if (seq !== S.seq) return; // a later range or campaign was asked for meanwhile
      if (r.status !== 200) {
        failures.push(t("live.load_failed", { table: t(report.title), error: M.errorText(r) }));
        return;
      }
      report.paint(r.body);
      if (button) button.disabled = false;
    }));
    if (seq === S.seq && failures.length) {
      err.textContent = failures.join(" ");
      err.hidden = false;
    }
  }
  async function download(id) {
    const report = REPORTS[id];
    const name = `${report.file}-${S.campaign.id}-${S.since}-${S.until}.csv`;
    const r = await M.download(report.path() + ".csv" + query(report), name);
    if (r && r.status !== 200) {
      M.notice(t("live.load_failed", { table: t(report.title), error: M.errorText(r) }), "error");
    }
  }

  async function choose(x) {
    const id = x && typeof x === "object" ? x.id : Number(x);
    // The picker calls back at once and on each change: one load per campaign asked.
    if (!Number.isFinite(id) || id <= 0 || S.asked === id) return;
    S.asked = id;
    let campaign = x && typeof x === "object" && x.timezone ? x : null;
    if (!campaign) {
      const r = await M.api("GET", `/api/campaigns/${id}`);
      if (r.status !== 200) return;
      campaign = r.body;
    }
    if (S.asked !== id) return;
    S.campaign = campaign;
    // A range not given is the last 7 local days of the campaign, today included.
    if (!S.since || !S.until) {
      const now = S.today ?? (S.today = await serviceNow());
      S.until = localDate(now, campaign.timezone);
      S.since = localDate(now - 6 * 86_400_000, campaign.timezone);
      $("reports-from").value = S.since;
      $("reports-to").value = S.until;
    }
    await load();
  }

  async function start() {
    await M.ready;
    const asked = new URLSearchParams(location.search);
    for (const [key, input] of [["since", "reports-from"], ["until", "reports-to"]]) {
      const v = asked.get(key);
      if (v && DATE.test(v)) { S[key] = v; $(input).value = v; }
    }
    for (const button of document.querySelectorAll("button.csv")) {
      button.addEventListener("click", () => download(button.dataset.report));
    }
    $("reports-range").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const since = $("reports-from").value;
      const until = $("reports-to").value;
      if (!DATE.test(since) || !DATE.test(until)) return;
      S.since = since;
      S.until = until;
      load();
    });
    for (const id of ["reports-from", "reports-to"]) {
      $(id).addEventListener("change", () => $("reports-range").requestSubmit());
    }
    const select = $("reports-campaign");
    await M.campaignPicker(select, { onChange: choose });
    if (select.value) await choose(select.value);
  }
  start().finally(() => M.settled());
})();
