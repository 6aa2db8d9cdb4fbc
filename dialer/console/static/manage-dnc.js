// The do-not-call list: search by phone (any format), add with a reason, lift
// with a reason (kept in the audit), the audit itself, and a bulk import.
// The list is of no campaign: its instants are shown as the API writes them (UTC).
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  await M.ready;

  let phone = "";
  let cursor = null;
  let lifting = null;
  const empty = (cols, text) => el("tr", {}, el("td", { colspan: String(cols), class: "empty", text }));
  // UTC, said so: the list is of no campaign, so of no campaign's zone.
  const time = (iso) => el("time", { datetime: iso, text: `${M.fmtTime(iso)} UTC` });
  // The audit names each actor itself (`actor_name`, from every account on file).
  const actorName = (actor, name) => M.actorName(actor, name);

  async function loadList(more) {
    if (!more) cursor = null;
    const q = new URLSearchParams({ limit: "100" });
    if (phone) q.set("phone", phone);
    if (more && cursor) q.set("cursor", cursor);
    const r = await api("GET", `/api/dnc?${q}`);
    const form = $("dnc-search");
    if (r.status !== 200) { M.fieldErrors(form, r); return; }
    M.clearFieldErrors(form);
    const rows = r.body.items.map((d) => el("tr", {},
      el("td", { text: d.phone }),
      el("td", { text: d.reason || "—" }),
      el("td", { text: d.source }),
      el("td", {}, time(d.created_at)),
      el("td", {}, el("button", { type: "button", text: t("manage.d.lift"),
        "aria-label": t("manage.p.of", { action: t("manage.d.lift"), name: d.phone }),
        onclick: () => openLift(d) })),
    ));
    if (!more) $("dnc-rows").replaceChildren();
    $("dnc-rows").append(...rows);
    if (!$("dnc-rows").children.length) $("dnc-rows").append(empty(5, t("manage.d.empty")));
    cursor = r.body.next_cursor;
    $("dnc-more").hidden = !cursor;
  }

  async function loadHistory() {
    const q = new URLSearchParams({ limit: "50" });
    if (phone) q.set("phone", phone);
    const r = await api("GET", `/api/dnc/history?${q}`);
    const items = r.status === 200 ? r.body.items : [];
    $("dnc-history").replaceChildren(...items.map((h) => el("tr", {},
      el("td", {}, time(h.at)),
      el("td", { text: h.phone }),
      el("td", { text: t(`manage.d.kind_${h.kind}`) }),
      el("td", { text: actorName(h.actor, h.actor_name) }),
      el("td", { text: h.reason || "" }),
    )));
    $("dnc-history-none").hidden = items.length > 0;
  }

  $("dnc-search").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    phone = ev.target.elements.phone.value.trim();
    await Promise.all([loadList(false), loadHistory()]);
  });
  $("dnc-more").addEventListener("click", () => loadList(true));

  $("dnc-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    M.clearFieldErrors(form);
    const r = await api("POST", "/api/dnc", { phone: form.elements.phone.value, reason: form.elements.reason.value });
    if (r.status !== 200 && r.status !== 201) { M.fieldErrors(form, r); return; }
    M.notice(t("manage.d.added_one", { phone: r.body ? r.body.phone : form.elements.phone.value }), "ok");
    form.reset();
    await Promise.all([loadList(false), loadHistory()]);
  });

  const dialog = $("lift-dialog");
  function openLift(d) {
    lifting = d;
    $("lift-what").textContent = t("manage.d.lift_of", { phone: d.phone });
    $("lift-form").elements.reason.value = "";
    M.clearFieldErrors($("lift-form"));
    dialog.showModal();
  }
  $("lift-close").addEventListener("click", () => dialog.close());
  $("lift-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const reason = form.elements.reason.value.trim();
    const q = reason ? `?reason=${encodeURIComponent(reason)}` : "";
    const r = await api("DELETE", `/api/dnc/${encodeURIComponent(lifting.phone)}${q}`);
    if (r.status !== 204 && r.status !== 200) { M.fieldErrors(form, r); return; }
    dialog.close();
    M.notice(t("manage.d.lifted", { phone: lifting.phone }), "ok");
    await Promise.all([loadList(false), loadHistory()]);
  });

  $("dnc-import").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const file = form.elements.file.files[0];
    if (!file) { M.notice(t("manage.l.choose_file"), "error"); form.elements.file.focus(); return; }
    const fd = new FormData();
    fd.append("file", file, file.name);
    const r = await M.upload("/api/dnc/imports", fd);
    if (r.status !== 200 && r.status !== 201) {
      M.fieldErrors(form, r.body && r.body.field ? r : { ...r, body: { ...(r.body || {}), field: "file" } });
      return;
    }
    const b = r.body;
    $("dnc-report").hidden = false;
    $("di-rows").textContent = String(b.rows);
    $("di-added").textContent = String(b.added);
    $("di-already").textContent = String(b.already_listed);
    $("di-invalid").textContent = String(b.invalid);
    $("di-errors").replaceChildren(...(b.errors || []).slice(0, 20).map((e) => el("li", { text: t("manage.l.row_error", e) })));
    await Promise.all([loadList(false), loadHistory()]);
  });

  await Promise.all([loadList(false), loadHistory()]);
})().finally(() => window.Manage.settled());
