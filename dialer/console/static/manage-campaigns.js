// The campaigns pages: the list, the form (new and edit: every field, the API's
// 422 beside the field at fault), pause/resume, clone, the script preview from a
// sample lead, and the change history. Everything through window.Manage.
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  const page = M.cfg.page;
  const base = M.cfg.base;

  const statusText = (s) => t(`manage.c.status_${s}`);
  const modeText = (m) => t(`manage.c.mode_${m}`);

  // -- the list -----------------------------------------------------------------------
  if (page === "campaigns") {
    $("new-campaign").addEventListener("click", () => location.assign(`${base}/manage/campaigns/new`));
    await M.ready;
    const list = await M.campaigns(true);
    const rows = list.map((c) => el("tr", {},
      el("td", {}, el("a", { href: `${base}/manage/campaigns/${c.id}`, text: c.name })),
      el("td", { text: statusText(c.status) }),
      el("td", { text: modeText(c.dial_mode) }),
      el("td", { text: c.timezone }),
      el("td", {}, el("a", {
        href: `${base}/manage/campaigns/${c.id}/lists`, text: t("manage.c.lists_link"),
        "aria-label": `${t("manage.lead_lists")}: ${c.name}`,
      })),
    ));
    $("campaign-rows").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: "5", class: "empty", text: t("manage.c.no_campaigns") }))]));
    return;
  }

  // -- the form -----------------------------------------------------------------------
  const form = $("campaign-form");
  const input = (name) => [...form.elements].find((e) => e.name === name);
  const NULLABLE_TEXT = ["caller_id", "seller_name", "call_reason", "callback_number",
    "abandon_message", "contract_number_pattern"];
  const TEXT = ["name", "timezone", "default_region", "tts_voice", "tts_language", "script", ...NULLABLE_TEXT];
  const NUMBERS = ["cps", "attribution_days", "wrapup_seconds"];
  const CHECKS = ["skip_holidays", "machine_detection"];
  const SELECTS = ["dial_mode", "retry_timing"];
  // `percents`: fractions the API takes (0.03) that the form shows as percentages (3).
  const POLICIES = {
    retry_policy: { ladders: ["no_answer", "busy", "machine", "failed", "not_interested"],
      numbers: ["max_attempts", "max_attempts_per_day"], selects: [], percents: [] },
    promise_policy: { ladders: ["no_answer_retry"],
      numbers: ["slot_minutes", "per_agent_per_slot", "grace_minutes"], selects: ["on_missed"],
      percents: [] },
    abandon_policy: { ladders: [], numbers: ["window_days", "connect_seconds", "no_recall_hours"],
      selects: [], percents: ["max_rate"] },
  };
  let campaign = null;
  let hoursSeq = 0;
  const defaultsTag = $("campaign-defaults");
  const defaults = defaultsTag ? JSON.parse(defaultsTag.textContent) : {};

  // A number the person typed, or the text itself when it is none, so that the
  // API names the field in its refusal rather than the page guessing.
  const number = (text) => (/^\s*-?\d+\s*$/.test(text) ? Number(text) : text.trim());
  const ladder = (text) => text.split(/[,、\s]+/).filter((x) => x !== "").map(number);
  // 3 (percent) ↔ 0.03 (the API's fraction), without float noise (0.07 * 100).
  const exact = (x) => Number(x.toPrecision(12));
  const fraction = (text) => (/^\s*-?\d+(\.\d+)?\s*$/.test(text) ? exact(Number(text) / 100) : text.trim());
  const percentShown = (x) => (typeof x === "number" ? String(exact(x * 100)) : "");
  const percentText = (x) => new Intl.NumberFormat(M.cfg.lang === "ja" ? "ja-JP" : "en-GB", {
    style: "percent", maximumFractionDigits: 2,
  }).format(x);

  function hoursRow(rule) {
    const n = ++hoursSeq;
    const index = $("hours-rows").children.length;
    const field = (key, label, value, attrs) => el("label", {}, t(label, { n: index + 1 }),
      el("input", { name: `calling_hours.${index}.${key}`, value: value ?? "", ...attrs }));
    const row = el("div", { class: "hours-row", "data-row": String(n) },
      field("days", "manage.c.hours_days", rule.days, { maxlength: "64", placeholder: "mon-fri" }),
      field("start", "manage.c.hours_start", rule.start, { maxlength: "5", placeholder: "09:00" }),
      field("end", "manage.c.hours_end", rule.end, { maxlength: "5", placeholder: "20:00" }),
      el("button", { type: "button", class: "remove", text: "×",
        "aria-label": t("manage.c.hours_remove", { n: index + 1 }),
        onclick: () => { row.remove(); renumberHours(); } }),
    );
    $("hours-rows").append(row);
  }
  // Names follow the rows' order, so a refusal of `calling_hours.1.start` lands
  // on the second row as shown.
  function renumberHours() {
    [...$("hours-rows").children].forEach((row, i) => {
      for (const e of row.querySelectorAll("input")) e.name = e.name.replace(/^calling_hours\.\d+\./, `calling_hours.${i}.`);
      const labels = row.querySelectorAll("label");
      const keys = ["manage.c.hours_days", "manage.c.hours_start", "manage.c.hours_end"];
      labels.forEach((l, k) => { l.firstChild.textContent = t(keys[k], { n: i + 1 }); });
      row.querySelector("button.remove").setAttribute("aria-label", t("manage.c.hours_remove", { n: i + 1 }));
    });
  }
  $("add-hours").addEventListener("click", () => {
    hoursRow({ days: "mon-fri", start: "09:00", end: "20:00" });
    $("hours-rows").lastElementChild.querySelector("input").focus();
  });

  function fill(c) {
    for (const name of TEXT) input(name).value = c[name] ?? "";
    for (const name of NUMBERS) input(name).value = c[name] ?? "";
    for (const name of CHECKS) input(name).checked = Boolean(c[name]);
    for (const name of SELECTS) input(name).value = c[name];
    for (const [policy, keys] of Object.entries(POLICIES)) {
      const p = c[policy] || {};
      for (const k of keys.ladders) input(`${policy}.${k}`).value = (p[k] || []).join(", ");
      for (const k of keys.numbers) input(`${policy}.${k}`).value = p[k] ?? "";
      for (const k of keys.selects) input(`${policy}.${k}`).value = p[k];
      for (const k of keys.percents) input(`${policy}.${k}`).value = percentShown(p[k]);
    }
    input("pause_codes").value = (c.pause_codes || []).join("\n");
    $("hours-rows").replaceChildren();
    for (const rule of c.calling_hours || []) hoursRow(rule);
  }

  function read() {
    const v = {};
    for (const name of TEXT) {
      const text = input(name).value;
      v[name] = NULLABLE_TEXT.includes(name) && text.trim() === "" ? null : text;
    }
    for (const name of NUMBERS) v[name] = number(input(name).value);
    for (const name of CHECKS) v[name] = input(name).checked;
    for (const name of SELECTS) v[name] = input(name).value;
    for (const [policy, keys] of Object.entries(POLICIES)) {
      const p = {};
      for (const k of keys.ladders) p[k] = ladder(input(`${policy}.${k}`).value);
      for (const k of keys.numbers) p[k] = number(input(`${policy}.${k}`).value);
      for (const k of keys.selects) p[k] = input(`${policy}.${k}`).value;
      for (const k of keys.percents) p[k] = fraction(input(`${policy}.${k}`).value);
      v[policy] = p;
    }
    v.pause_codes = input("pause_codes").value.split("\n").map((x) => x.trim()).filter((x) => x);
    v.calling_hours = [...$("hours-rows").children].map((row) => {
      const [days, start, end] = [...row.querySelectorAll("input")].map((e) => e.value.trim());
      return { days, start, end };
    });
    return v;
  }

  // What to send: only what differs from the campaign as loaded (on create,
  // from the defaults it would get, and its name).
  function changes(v) {
    const was = campaign || { ...defaults, name: "" };
    const out = campaign ? {} : { name: v.name };
    for (const [k, x] of Object.entries(v)) {
      const before = was[k] ?? (typeof x === "string" ? "" : null);
      if (JSON.stringify(before) !== JSON.stringify(x)) out[k] = x;
    }
    return out;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    M.clearFieldErrors(form);
    const body = changes(read());
    $("save").disabled = true;
    try {
      if (!campaign) {
        const r = await api("POST", "/api/campaigns", body);
        if (r.status === 201) {
          location.assign(`${base}/manage/campaigns/${r.body.id}?created=1`);
          return;
        }
        if (!M.fieldErrors(form, r)) return;
        M.notice(M.errorText(r), "error");
        return;
      }
      if (!Object.keys(body).length) { M.notice(t("manage.saved"), "ok"); return; }
      const r = await api("PATCH", `/api/campaigns/${campaign.id}`, body);
      if (r.status === 200) {
        show(r.body);
        M.notice(t("manage.saved"), "ok");
        loadHistory(true);
        loadPreview();
      } else if (M.fieldErrors(form, r)) {
        M.notice(M.errorText(r), "error");
      }
    } finally {
      $("save").disabled = false;
    }
  });

  function show(c) {
    campaign = c;
    fill(c);
    showHead(c);
  }

  // The title, status, pause toggle and block: what a pause, a resume or a
  // lifted block changes, without touching the form's unsaved edits.
  function showHead(c) {
    campaign = c;
    $("campaign-title").textContent = c.name;
    document.title = `${c.name} — ${t("manage.nav_campaigns")}`;
    $("campaign-status").textContent = statusText(c.status);
    const toggle = $("pause-toggle");
    toggle.hidden = false;
    toggle.textContent = c.status === "paused" ? t("manage.c.resume") : t("manage.c.pause");
    toggle.className = c.status === "paused" ? "primary" : "";
    const blocked = $("blocked");
    blocked.hidden = !c.dialing_blocked;
    if (c.dialing_blocked) {
      $("blocked-text").textContent = t("manage.c.blocked", {
        detail: M.blockText(c.dialing_blocked), time: M.fmtTime(c.dialing_blocked.since),
      });
    }
    if (!$("clone-form").elements.name.value) {
      $("clone-form").elements.name.value = t("manage.c.copy_of", { name: c.name });
    }
  }

  if (page === "campaign_new") {
    // The form starts from what a campaign created with a name alone gets; only
    // what the person changes from it is sent.
    // Filled before anything is awaited, so nothing typed is overwritten; saving
    // (held by Manage until the page is settled) needs the session's token.
    fill({ name: "", ...defaults });
    input("name").focus();
    await M.ready;
    return;
  }

  // -- one campaign -------------------------------------------------------------------
  const id = M.cfg.campaign_id;
  await M.ready;
  const r = await api("GET", `/api/campaigns/${id}`);
  if (r.status !== 200) { M.notice(M.errorText(r), "error"); form.hidden = true; return; }
  show(r.body);
  if (new URLSearchParams(location.search).get("created")) M.notice(t("manage.c.created"), "ok");

  $("pause-toggle").addEventListener("click", async () => {
    const next = campaign.status === "paused" ? "active" : "paused";
    const res = await api("PATCH", `/api/campaigns/${id}`, { status: next });
    if (res.status !== 200) { M.notice(M.errorText(res), "error"); return; }
    showHead(res.body);
    M.notice(next === "paused" ? t("manage.c.paused") : t("manage.c.resumed"), "ok");
    $("pause-toggle").focus();
    loadHistory(true);
  });

  $("lift-block").addEventListener("click", async () => {
    // The campaign's own block, or the account's: both stop this campaign.
    const account = campaign.dialing_blocked && campaign.dialing_blocked.scope === "account";
    const res = account
      ? await api("DELETE", "/api/account/dialing-block")
      : await api("DELETE", `/api/campaigns/${id}/dialing-block`);
    if (res.status !== 200 && res.status !== 204) { M.notice(M.errorText(res), "error"); return; }
    const again = await api("GET", `/api/campaigns/${id}`);
    if (again.status === 200) showHead(again.body);
    M.notice(t("manage.c.block_lifted"), "ok");
    loadHistory(true);
  });

  $("test-call-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    M.clearFieldErrors(f);
    const res = await api("POST", `/api/campaigns/${id}/test-call`, { to: f.elements.to.value });
    if (res.status !== 200) {
      if (res.status === 422) M.fieldErrors(f, res);
      M.notice(M.errorText(res), "error");
      return;
    }
    const again = await api("GET", `/api/campaigns/${id}`);
    if (again.status === 200) showHead(again.body);
    M.notice(t("manage.c.test_call_ok", { to: res.body.to }), "ok");
    loadHistory(true);
  });

  $("clone-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    M.clearFieldErrors(f);
    const res = await api("POST", `/api/campaigns/${id}/clone`, { name: f.elements.name.value });
    if (res.status === 201) {
      M.campaigns(true);
      location.assign(`${base}/manage/campaigns/${res.body.id}?cloned=1`);
      return;
    }
    M.fieldErrors(f, res);
  });
  if (new URLSearchParams(location.search).get("cloned")) {
    M.notice(t("manage.c.cloned", { name: campaign.name }), "ok");
  }

  // -- script preview: the campaign's first lead, else the template as written -------
  async function loadPreview() {
    const leads = await api("GET", `/api/campaigns/${id}/leads?limit=1`);
    const lead = leads.status === 200 && leads.body.items.length ? leads.body.items[0] : null;
    if (lead) {
      const s = await api("GET", `/api/leads/${lead.id}/script`);
      if (s.status === 200) {
        $("preview-source").textContent = t("manage.c.preview_lead", { name: lead.name || `#${lead.id}` });
        $("script-preview").textContent = s.body.text;
        $("preview-unfilled").textContent = s.body.unfilled.length
          ? t("manage.c.preview_unfilled", { fields: s.body.unfilled.join(", ") }) : "";
        return;
      }
    }
    $("preview-source").textContent = t("manage.c.preview_template");
    $("script-preview").textContent = campaign.script || "";
    $("preview-unfilled").textContent = "";
  }

  // -- change history -----------------------------------------------------------------
  let historyCursor = null;
  const shown = (value) => (value === null || value === undefined ? "—"
    : typeof value === "string" ? value : JSON.stringify(value));
  // A value as the form shows it: a status or a choice in words, a rate as a percentage.
  function value(field, v) {
    if (v === null || v === undefined) return shown(v);
    if (field === "status") return statusText(v);
    if (field === "abandon_policy.max_rate" && typeof v === "number") return percentText(v);
    const box = input(field);
    const option = box && box.tagName === "SELECT" ? [...box.options].find((o) => o.value === v) : null;
    return option ? option.textContent : shown(v);
  }
  function historyRows(item) {
    const when = el("td", {}, el("time", { datetime: item.at, text: M.fmtTime(item.at) }));
    const who = M.actorName(item.actor, item.actor_name);
    const kind = t(`manage.h.kind_${item.kind}`, { id: item.source_campaign_id ?? "" });
    if (!item.changes || !item.changes.length) {
      return [el("tr", {}, when, el("td", { text: who }), el("td", { text: kind }), el("td", { text: "" }))];
    }
    if (item.kind === "dialing_block_lifted") {
      // The block that stood, in words: its meaning and since when.
      const block = item.changes[0].before || {};
      const what = t("manage.c.blocked", { detail: block.code ? M.blockText(block) : "", time: M.fmtTime(block.since) });
      return [el("tr", {}, when, el("td", { text: who }), el("td", { text: kind }),
        el("td", { class: "change" }, el("del", { text: what })))];
    }
    // A policy object changed in one key reads as that key: retry_policy.busy.
    const plain = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
    const changes = item.changes.flatMap((ch) => (plain(ch.before) && plain(ch.after)
      ? [...new Set([...Object.keys(ch.before), ...Object.keys(ch.after)])]
        .filter((k) => JSON.stringify(ch.before[k]) !== JSON.stringify(ch.after[k]))
        .map((k) => ({ field: `${ch.field}.${k}`, before: ch.before[k], after: ch.after[k] }))
      : [ch]));
    return changes.map((ch, i) => el("tr", {},
      i === 0 ? when : el("td", {}),
      el("td", { text: i === 0 ? who : "" }),
      el("td", { text: fieldLabel(ch.field), title: ch.field }),
      el("td", { class: "change" }, el("del", { text: value(ch.field, ch.before) }), " → ",
        el("ins", { text: value(ch.field, ch.after) })),
    ));
  }
  // A field as the form names it (in the page's language), else its API name.
  function fieldLabel(path) {
    if (path === "status") return t("manage.status");
    if (path === "calling_hours") return t("manage.c.calling_hours");
    const box = input(path);
    const named = box && box.getAttribute("aria-labelledby");
    if (named) return $(named)?.textContent.trim() || path;
    const label = box?.closest("label");
    if (!label) return path;
    const words = [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join(" ").trim();
    return words || path;
  }
  async function loadHistory(fresh) {
    if (fresh) historyCursor = null;
    const q = historyCursor ? `&cursor=${encodeURIComponent(historyCursor)}` : "";
    const res = await api("GET", `/api/campaigns/${id}/history?limit=50${q}`);
    const body = $("history-rows");
    if (res.status !== 200) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "empty", text: M.errorText(res) })));
      return;
    }
    const rows = res.body.items.flatMap(historyRows);
    if (fresh) body.replaceChildren();
    body.append(...rows);
    if (!body.children.length) {
      body.append(el("tr", {}, el("td", { colspan: "4", class: "empty", text: t("manage.c.no_history") })));
    }
    historyCursor = res.body.next_cursor;
    $("history-more").hidden = !historyCursor;
  }
  $("history-more").addEventListener("click", () => loadHistory(false));

  await Promise.all([loadPreview(), loadHistory(true)]);
})().finally(() => window.Manage.settled());
