// Finding a customer (the lead search: phone in any format, name, company,
// contract number, external id) and the lead page: why it is or isn't being
// called (in words, from the eligibility rules), its details, phones, contacts,
// promises, calls, conversions and history. Instants as the API wrote them, in
// the campaign's zone.
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  const base = M.cfg.base;
  await M.ready;

  const leadStatus = (s) => t(`manage.ls.${s}`);
  const empty = (cols, text) => el("tr", {}, el("td", { colspan: String(cols), class: "empty", text }));
  const campaigns = await M.campaigns();
  const campaignName = (cid) => (campaigns.find((c) => c.id === cid) || {}).name || `#${cid}`;

  // -- search -------------------------------------------------------------------------
  if (M.cfg.page === "leads") {
    const form = $("search-form");
    const select = form.elements.campaign_id;
    select.append(...campaigns.map((c) => el("option", { value: String(c.id), text: c.name })));
    const FIELDS = ["phone", "name", "company", "contract_number", "external_id"];
    let cursor = null;
    let query = "";

    async function search(more) {
      const r = await api("GET", `/api/leads?${query}&limit=50${more && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      const rows = $("result-rows");
      if (r.status !== 200) {
        M.fieldErrors(form, r);
        if (!more) rows.replaceChildren();
        return;
      }
      M.clearFieldErrors(form);
      const found = r.body.items.map((lead) => el("tr", {},
        el("td", {}, el("a", { href: `${base}/manage/leads/${lead.id}`, text: lead.name || `#${lead.id}` })),
        el("td", { text: lead.company || "" }),
        el("td", { text: lead.phones.map((p) => p.number).join(", ") }),
        el("td", { text: campaignName(lead.campaign_id) }),
        el("td", { text: leadStatus(lead.status) }),
      ));
      if (!more) rows.replaceChildren();
      rows.append(...found);
      if (!rows.children.length) rows.append(empty(5, t("manage.s.none")));
      cursor = r.body.next_cursor;
      $("results-more").hidden = !cursor;
      M.notice(t("manage.s.count", { count: rows.querySelectorAll("a").length }));
    }
    // A search asked for while the page was still reading is held by Manage and
    // submitted here once the page is ready (never a native reload).
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const f of FIELDS) {
        const v = form.elements[f].value.trim();
        if (v) q.set(f, v);
      }
      if (select.value) q.set("campaign_id", select.value);
      query = q.toString();
      history.replaceState(null, "", `?${query}`);
      search(false);
    });
    $("results-more").addEventListener("click", () => search(true));
    // A search in the address (a link from elsewhere, or the page reloaded) is run.
    const asked = new URLSearchParams(location.search);
    for (const f of FIELDS) if (asked.get(f)) form.elements[f].value = asked.get(f).slice(0, 300);
    if (asked.get("campaign_id")) select.value = asked.get("campaign_id");
    if (FIELDS.some((f) => asked.get(f))) form.requestSubmit();
    else form.elements.phone.focus();
    return;
  }

  // -- one lead -------------------------------------------------------------------------
  const id = M.cfg.lead_id;
  const [lr, er, ar] = await Promise.all([
    api("GET", `/api/leads/${id}`),
    api("GET", `/api/leads/${id}/eligibility`),
    api("GET", "/api/agents?role=any&limit=1000"),
  ]);
  if (lr.status !== 200) { M.notice(M.errorText(lr), "error"); return; }
  const lead = lr.body;
  const agents = new Map(ar.status === 200 ? ar.body.items.map((a) => [a.id, a.name]) : []);
  const agentName = (aid) => (aid == null ? "—" : agents.get(aid) || `#${aid}`);
  const actorName = (actor) => M.actorName(actor, null, agents);
  const time = (iso) => el("time", { datetime: iso, text: M.fmtTime(iso) });

  $("lead-h").textContent = lead.name || lead.company || `#${lead.id}`;
  document.title = `${$("lead-h").textContent} — ${t("manage.nav_leads")}`;
  $("lead-status").textContent = leadStatus(lead.status);
  $("lead-campaign").textContent = campaignName(lead.campaign_id);
  $("lead-campaign").href = `${base}/manage/campaigns/${lead.campaign_id}`;

  // Why it is or isn't being called, rule by rule, in the page's language; the
  // service's own sentence is English, so it is shown on English pages only.
  if (er.status === 200) {
    const e = er.body;
    const why = [];
    if (e.callable) why.push(el("p", { text: t("manage.ld.callable") }));
    else {
      why.push(el("ul", { class: "why-list" }, ...e.blocked_by.map((b) => el("li", {},
        el("strong", { text: t(`manage.ld.rule.${b.rule}`) }),
        b.until ? ` — ${t("manage.ld.until", { time: M.fmtTime(b.until) })}` : "",
        M.cfg.lang === "en" && b.detail ? el("span", { class: "hint", text: ` (${b.detail})` }) : null,
      ))));
      why.push(el("p", { text: e.next_callable_at ? t("manage.ld.next_at", { time: M.fmtTime(e.next_callable_at) }) : t("manage.ld.never") }));
    }
    $("why").replaceChildren(...why);
  } else {
    $("why").replaceChildren(el("p", { text: M.errorText(er) }));
  }

  const fact = (label, value) => (value === null || value === undefined || value === "" ? null
    : el("div", {}, el("dt", { text: label }), el("dd", {}, value)));
  $("facts").replaceChildren(...[
    fact(t("manage.c.name"), lead.name),
    fact(t("manage.s.company"), lead.company),
    fact(t("manage.s.contract_number"), lead.contract_number),
    fact(t("manage.s.external_id"), lead.external_id),
    fact(t("manage.ld.provider"), lead.current_provider),
    fact(t("manage.ld.priority"), String(lead.priority)),
    fact(t("manage.ld.attempts"), String(lead.attempts)),
    fact(t("manage.ld.next_attempt"), lead.next_attempt_at ? time(lead.next_attempt_at) : null),
    fact(t("manage.c.timezone"), lead.timezone),
    ...Object.entries(lead.extra || {}).map(([k, v]) => fact(k, typeof v === "string" ? v : JSON.stringify(v))),
  ].filter(Boolean));

  const listOr = (box, items) => box.replaceChildren(...(items.length ? items : [el("li", { class: "hint", text: t("manage.ld.nothing") })]));
  listOr($("phones"), lead.phones.map((p) => el("li", {},
    el("a", { href: `${base}/manage/leads?phone=${encodeURIComponent(p.number)}`, text: p.number }),
    p.retired ? el("span", { class: "tag", text: t("manage.ld.retired") }) : null)));
  listOr($("contacts"), lead.contacts.map((c) => el("li", { text: c.role ? `${c.name} (${T(`manage.ld.role.${c.role}`, c.role)})` : c.name })));

  const rowsOr = (box, cols, rows) => box.replaceChildren(...(rows.length ? rows : [empty(cols, t("manage.ld.nothing"))]));
  rowsOr($("promises"), 3, lead.promises.map((p) => el("tr", {},
    el("td", {}, time(p.due_at)),
    el("td", { text: t(`manage.ps.${p.status}`) }),
    el("td", { text: p.owner === "anyone" ? t("manage.ld.anyone") : agentName(p.agent_id) }),
  )));
  rowsOr($("calls"), 5, lead.calls.map((c) => el("tr", {},
    el("td", {}, time(c.created_at)),
    el("td", { text: c.to }),
    el("td", { text: `${t(`cs_${c.status}`)}${c.duration ? ` (${M.fmtDuration(c.duration)})` : ""}` }),
    el("td", { text: c.disposition ? t(`out_${c.disposition}`) : "—" }),
    el("td", { text: agentName(c.agent_id) }),
  )));
  rowsOr($("conversions"), 4, lead.conversions.map((c) => el("tr", {},
    el("td", {}, time(c.occurred_at)),
    el("td", { text: c.reference }),
    el("td", { text: t(`manage.cv.ch_${c.channel}`) }),
    el("td", { text: t(`manage.cv.status_${c.status}`) }),
  )));
  // Newest first: what happened last is what the caller asks about.
  const detailText = (d) => Object.entries(d || {}).filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => `${k}: ${/_at$/.test(k) && typeof v === "string" ? M.fmtTime(v) : (typeof v === "object" ? JSON.stringify(v) : v)}`).join(", ");
  const pct = (x) => (x == null ? "—" : new Intl.NumberFormat(M.cfg.lang === "ja" ? "ja-JP" : "en-GB", {
    style: "percent", maximumFractionDigits: 1,
  }).format(x));
  // What a dial passed at its instant (a call_placed's `checks`), in words: the
  // record a compliance question about this lead is answered from.
  function checksText(c) {
    const parts = [];
    if (c.dnc) parts.push(c.dnc === "clear" ? t("manage.ld.chk_dnc_clear") : `DNC: ${c.dnc}`);
    if (c.local_time) {
      parts.push(t(c.hours_open === false ? "manage.ld.chk_hours_closed" : "manage.ld.chk_hours_open",
        { time: M.fmtTime(c.local_time), zone: c.timezone || "" }));
    }
    if (c.claim) {
      const reason = T(`manage.ld.claim_${c.claim.reason}`, c.claim.reason || "");
      parts.push(t("manage.ld.chk_claim", {
        who: c.claim.agent_id == null ? t("who_dialer") : agentName(c.claim.agent_id), reason,
      }));
    }
    const a = c.attempts;
    if (a) {
      parts.push(t("manage.ld.chk_attempts", {
        n: a.unsolicited ?? "—", max: a.max_attempts ?? "—", today: a.today ?? "—", per_day: a.max_per_day ?? "—",
      }));
    }
    const ab = c.abandon;
    if (ab) {
      parts.push(t("manage.ld.chk_abandon", {
        rate: pct(ab.rate), cap: pct(ab.max_rate), abandoned: ab.abandoned, answered: ab.answered, days: ab.window_days,
      }));
    }
    const nr = c.no_recall;
    if (nr) {
      parts.push(nr.clear ? t("manage.ld.chk_no_recall_clear", { hours: nr.no_recall_hours })
        : t("manage.ld.chk_no_recall_held", { hours: nr.no_recall_hours, time: M.fmtTime(nr.abandoned_at) }));
    }
    return t("manage.ld.checks", { checks: parts.join(" · ") });
  }
  function eventDetail(e) {
    const d = e.detail || {};
    if (e.kind !== "call_placed" || !d.checks || typeof d.checks !== "object") return detailText(d);
    const { checks, ...rest } = d;
    return [el("span", { text: detailText(rest) }), el("br"), el("span", { class: "checks", text: checksText(checks) })];
  }
  rowsOr($("history"), 4, [...lead.events].reverse().map((e) => el("tr", {},
    el("td", {}, time(e.at)),
    el("td", { text: T(`kind_${e.kind}`, e.kind) }),
    el("td", { text: actorName(e.actor) }),
    el("td", { class: "change" }, eventDetail(e)),
  )));

  // A catalog key the console may lack (an event kind added later) shows as the code.
  function T(key, fallback) {
    const text = t(key);
    return text === key ? fallback : text;
  }
})().finally(() => window.Manage.settled());
