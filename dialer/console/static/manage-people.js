// People: agents and managers. Create one (name, role, campaigns, endpoint,
// password), assign campaigns, set or reset a password, deactivate and
// reactivate, and a new API token (shown once, never again).
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  await M.ready;

  const campaigns = await M.campaigns();
  const campaignName = (cid) => (campaigns.find((c) => c.id === cid) || {}).name || `#${cid}`;
  let people = [];
  let current = null;  // the account a dialog is about
  const of = (action, p) => t("manage.p.of", { action, name: p.name });

  function boxes(fieldset, chosen) {
    const legend = fieldset.querySelector("legend");
    fieldset.replaceChildren(legend, ...(campaigns.length ? campaigns.map((c) => el("label", {},
      el("input", { type: "checkbox", name: "campaign_ids", value: String(c.id), checked: chosen.includes(c.id) }),
      ` ${c.name}`)) : [el("span", { class: "hint", text: t("manage.p.no_campaigns") })]));
  }
  const chosenIds = (form) => [...form.querySelectorAll('input[name="campaign_ids"]:checked')].map((e) => Number(e.value));

  function showToken(p, token) {
    $("token-box").hidden = false;
    $("token-what").textContent = t("manage.p.token_for", { name: p.name });
    $("token-value").textContent = token;
  }

  async function load() {
    const q = $("show-inactive").checked ? "" : "&active=true";
    const r = await api("GET", `/api/agents?role=any&limit=1000${q}`);
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    people = r.body.items;
    $("people-rows").replaceChildren(...people.map((p) => el("tr", {},
      el("td", { text: p.name }),
      el("td", { text: t(`manage.p.role_${p.role}`) }),
      el("td", { text: p.role === "agent" ? (p.campaign_ids.map(campaignName).join(", ") || "—") : "—" }),
      el("td", { text: p.endpoint || "—" }),
      el("td", { text: p.active ? t("manage.p.active") : t("manage.p.inactive") }),
      el("td", {}, el("div", { class: "row-actions" },
        p.active ? el("button", { type: "button", text: t("manage.p.set_password"),
          "aria-label": of(t("manage.p.set_password"), p), onclick: () => openPassword(p) }) : null,
        p.active && p.role === "agent" ? el("button", { type: "button", text: t("manage.p.assign"),
          "aria-label": of(t("manage.p.assign"), p), onclick: () => openAssign(p) }) : null,
        p.active ? el("button", { type: "button", text: t("manage.p.token"),
          "aria-label": of(t("manage.p.token"), p), onclick: () => newToken(p) }) : null,
        p.active
          ? el("button", { type: "button", class: "danger", text: t("manage.p.deactivate"),
            "aria-label": of(t("manage.p.deactivate"), p), onclick: () => deactivate(p) })
          : el("button", { type: "button", text: t("manage.p.reactivate"),
            "aria-label": of(t("manage.p.reactivate"), p), onclick: () => reactivate(p) }),
      )),
    )));
  }
  $("show-inactive").addEventListener("change", load);

  // -- a new person --------------------------------------------------------------------
  const form = $("person-form");
  boxes(form.querySelector(".campaign-boxes"), []);
  $("new-person").addEventListener("click", () => {
    form.hidden = !form.hidden;
    $("new-person").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.elements.name.focus();
  });
  // Disabled until now: a click before the script has loaded would do nothing.
  $("new-person").disabled = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    M.clearFieldErrors(form);
    const body = { name: form.elements.name.value, role: form.elements.role.value, campaign_ids: chosenIds(form) };
    const endpoint = form.elements.endpoint.value.trim();
    if (endpoint) body.endpoint = endpoint;
    // With the account, in one request: a refused password creates nobody.
    const password = form.elements.password.value;
    if (password) body.password = password;
    const r = await api("POST", "/api/agents", body);
    if (r.status !== 201) { M.fieldErrors(form, r); return; }
    const person = r.body;
    showToken(person, person.token);
    M.notice(t("manage.p.created", { name: person.name }), "ok");
    form.reset();
    boxes(form.querySelector(".campaign-boxes"), []);
    form.hidden = true;
    $("new-person").setAttribute("aria-expanded", "false");
    await load();
  });

  // -- password -------------------------------------------------------------------------
  const pwDialog = $("password-dialog");
  function openPassword(p) {
    current = p;
    $("password-h").textContent = t("manage.p.password_for", { name: p.name });
    const f = $("password-form");
    f.reset();
    M.clearFieldErrors(f);
    pwDialog.showModal();
  }
  $("password-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const r = await api("PUT", `/api/agents/${current.id}/password`, { password: f.elements.password.value });
    if (r.status !== 204) { M.fieldErrors(f, r); return; }
    pwDialog.close();
    M.notice(t("manage.p.password_set", { name: current.name }), "ok");
  });

  // -- campaigns ------------------------------------------------------------------------
  const asDialog = $("assign-dialog");
  function openAssign(p) {
    current = p;
    $("assign-h").textContent = t("manage.p.assign_for", { name: p.name });
    boxes($("assign-form").querySelector(".campaign-boxes"), p.campaign_ids);
    asDialog.showModal();
  }
  $("assign-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("PATCH", `/api/agents/${current.id}`, { campaign_ids: chosenIds(ev.target) });
    if (r.status !== 200) { M.fieldErrors(ev.target, r); return; }
    asDialog.close();
    M.notice(t("manage.p.assigned", { name: current.name }), "ok");
    await load();
  });
  for (const b of document.querySelectorAll("dialog .close")) b.addEventListener("click", () => b.closest("dialog").close());

  // -- tokens, deactivation -------------------------------------------------------------
  async function newToken(p) {
    const r = await api("POST", `/api/agents/${p.id}/token`);
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    showToken(p, r.body.token);
  }
  async function deactivate(p) {
    const r = await api("POST", `/api/agents/${p.id}/deactivate`, {});
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    M.notice(t("manage.p.deactivated", { name: p.name }), "ok");
    await load();
  }
  async function reactivate(p) {
    const r = await api("POST", `/api/agents/${p.id}/reactivate`);
    if (r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
    M.notice(t("manage.p.reactivated", { name: p.name }), "ok");
    showToken(p, r.body.token);
    await load();
  }

  await load();
})().finally(() => window.Manage.settled());
