// Sign-ups of a campaign: the unmatched ones, each matched to a lead found by
// phone; a CSV import of sign-ups with its report; the campaign's sign-ups with a
// cooling-off cancel (with its reason).
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  await M.ready;

  let campaign = null;
  let matching = null;    // the unmatched conversion being matched
  let cancelling = null;  // the conversion being cancelled
  let cursor = null;
  const empty = (cols, text) => el("tr", {}, el("td", { colspan: String(cols), class: "empty", text }));
  const time = (iso) => el("time", { datetime: iso, text: M.fmtTime(iso) });
  const channel = (c) => t(`manage.cv.ch_${c}`);

  async function loadUnmatched() {
    const r = await api("GET", `/api/conversions?campaign_id=${campaign.id}&unmatched=true&limit=100`);
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    const rows = r.body.items.map((c) => el("tr", {},
      el("td", {}, time(c.occurred_at)),
      el("td", { text: c.reference }),
      el("td", { text: channel(c.channel) }),
      el("td", { text: c.phone || "—" }),
      el("td", { text: c.contract_number || "—" }),
      el("td", {}, el("button", { type: "button", text: t("manage.cv.match"),
        "aria-label": t("manage.p.of", { action: t("manage.cv.match"), name: c.reference }),
        onclick: () => openMatch(c) })),
    ));
    $("unmatched").replaceChildren(...(rows.length ? rows : [empty(6, t("manage.cv.none_unmatched"))]));
  }

  function openMatch(c) {
    matching = c;
    $("match-panel").hidden = false;
    $("match-h").textContent = t("manage.cv.match_for", { reference: c.reference });
    const phone = $("match-form").elements.phone;
    phone.value = c.phone || "";
    $("match-results").replaceChildren();
    if (phone.value) $("match-form").requestSubmit();
    phone.focus();
  }

  $("match-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const phone = form.elements.phone.value.trim();
    const q = new URLSearchParams({ phone, campaign_id: String(campaign.id), limit: "20" });
    const r = await api("GET", `/api/leads?${q}`);
    if (r.status !== 200) { M.fieldErrors(form, r); $("match-results").replaceChildren(); return; }
    M.clearFieldErrors(form);
    const items = r.body.items.map((lead) => el("li", {},
      el("a", { href: `${M.cfg.base}/manage/leads/${lead.id}`, text: lead.name || `#${lead.id}` }),
      el("span", { text: [lead.company, lead.phones.map((p) => p.number).join(", ")].filter(Boolean).join(" — ") }),
      el("button", { type: "button", class: "primary", text: t("manage.cv.match_to"),
        onclick: () => match(lead) }),
    ));
    $("match-results").replaceChildren(...(items.length ? items : [el("li", { class: "hint", text: t("manage.s.none") })]));
  });

  async function match(lead) {
    const r = await api("POST", `/api/conversions/${matching.id}/match`, { lead_id: lead.id });
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    M.notice(t("manage.cv.matched_to", { reference: matching.reference, name: lead.name || `#${lead.id}` }), "ok");
    matching = null;
    $("match-panel").hidden = true;
    await Promise.all([loadUnmatched(), loadAll(true)]);
  }

  async function loadAll(fresh) {
    if (fresh) cursor = null;
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const r = await api("GET", `/api/conversions?campaign_id=${campaign.id}&limit=50${q}`);
    if (r.status !== 200) return;
    const rows = r.body.items.map((c) => el("tr", {},
      el("td", {}, time(c.occurred_at)),
      el("td", { text: c.reference }),
      el("td", { text: channel(c.channel) }),
      el("td", {}, c.lead_id ? el("a", { href: `${M.cfg.base}/manage/leads/${c.lead_id}`, text: `#${c.lead_id}` }) : "—"),
      el("td", { text: t(`manage.cv.attr_${c.attribution}`) }),
      el("td", { text: t(`manage.cv.status_${c.status}`) }),
      el("td", {}, c.status === "active" ? el("button", { type: "button", text: t("manage.cv.cancel"),
        "aria-label": t("manage.p.of", { action: t("manage.cv.cancel"), name: c.reference }), onclick: () => openCancel(c) }) : null),
    ));
    if (fresh) $("conversions").replaceChildren();
    $("conversions").append(...rows);
    if (!$("conversions").children.length) $("conversions").append(empty(7, t("manage.ld.nothing")));
    cursor = r.body.next_cursor;
    $("conv-more").hidden = !cursor;
  }
  $("conv-more").addEventListener("click", () => loadAll(false));

  // -- cooling-off cancel --------------------------------------------------------------
  const dialog = $("cancel-dialog");
  function openCancel(c) {
    cancelling = c;
    $("cancel-what").textContent = t("manage.cv.cancel_of", { reference: c.reference });
    M.clearFieldErrors($("cancel-form"));
    $("cancel-form").elements.reason.value = "";
    dialog.showModal();
  }
  $("cancel-close").addEventListener("click", () => dialog.close());
  $("cancel-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const r = await api("POST", `/api/conversions/${cancelling.id}/cancel`, { reason: form.elements.reason.value });
    if (r.status !== 200) { M.fieldErrors(form, r); return; }
    dialog.close();
    M.notice(t("manage.cv.cancelled", { reference: cancelling.reference }), "ok");
    await loadAll(true);
  });

  // -- import ----------------------------------------------------------------------------
  $("import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const file = form.elements.file.files[0];
    if (!file) { M.notice(t("manage.l.choose_file"), "error"); form.elements.file.focus(); return; }
    const fd = new FormData();
    fd.append("file", file, file.name);
    const r = await M.upload(`/api/campaigns/${campaign.id}/conversions/imports`, fd);
    if (r.status !== 200 && r.status !== 201) {
      M.fieldErrors(form, r.body && r.body.field ? r : { ...r, body: { ...(r.body || {}), field: "file" } });
      return;
    }
    const b = r.body;
    $("import-report").hidden = false;
    const put = (idn, v) => { $(idn).textContent = String(v ?? 0); };
    put("ci-rows", b.rows); put("ci-created", b.created); put("ci-already", b.already_reported);
    put("ci-matched", b.matched); put("ci-unmatched", b.unmatched); put("ci-duplicates", b.duplicates);
    put("ci-invalid", b.invalid);
    $("ci-encoding").textContent = b.encoding;
    $("ci-errors").replaceChildren(...(b.errors || []).slice(0, 20).map((e) => el("li", { text: t("manage.l.row_error", e) })));
    await Promise.all([loadUnmatched(), loadAll(true)]);
  });

  // The picker calls onChange with the chosen campaign at once: the first load.
  await M.campaignPicker($("campaign"), {
    onChange: (c) => {
      if (!c || c === campaign) return;
      campaign = c;
      $("match-panel").hidden = true;
      loadUnmatched();
      loadAll(true);
    },
  });
})().finally(() => window.Manage.settled());
