// The manager console's shared module, `window.Manage`: every manager page's
// script uses it (and only it) to read its config and catalog, the session, the
// HTTP API (session cookie + X-CSRF-Token on writes), uploads with progress,
// downloads, formatting in a campaign's zone, error messages beside the field at
// fault, the campaign picker and a DOM builder. Plain browser JavaScript, no
// build step; data always goes into the page as text, never as HTML.
"use strict";
(() => {
  const cfg = JSON.parse(document.getElementById("manage-config").textContent);
  const T = JSON.parse(document.getElementById("manage-catalog").textContent);
  const locale = cfg.lang === "ja" ? "ja-JP" : "en-GB";
  const CAMPAIGN_KEY = "manage.campaign_id";
  let csrf = "";
  let campaignList = null;

  const t = (key, vars = {}) =>
    (T[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

  function toLogin() {
    location.assign(`${cfg.base}/login${cfg.lang ? `?lang=${cfg.lang}` : ""}`);
  }

  async function parse(r) {
    if (r.status === 204) return null;
    try { return await r.json(); } catch { return null; }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
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
    const data = await parse(r);
    if (r.status === 401 && data && data.code === "no_session") toLogin();
    return { status: r.status, body: data };
  }

  // XHR rather than fetch: only XHR reports how much of the body has been sent.
  function upload(path, formData, onProgress) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open("POST", cfg.base + path);
      x.withCredentials = true;
      x.setRequestHeader("X-CSRF-Token", csrf);
      x.setRequestHeader("Accept", "application/json");
      if (onProgress) {
        x.upload.addEventListener("progress", (e) => {
          if (e.lengthComputable) onProgress(e.loaded, e.total);
        });
      }
      x.addEventListener("load", () => {
        let data = null;
        try { data = x.responseText ? JSON.parse(x.responseText) : null; } catch { data = null; }
        if (x.status === 401 && data && data.code === "no_session") toLogin();
        resolve({ status: x.status, body: data });
      });
      x.addEventListener("error", () => resolve({ status: 0, body: { code: "network" } }));
      x.send(formData);
    });
  }

  // The cookie goes with the fetch; the file is saved through a link with
  // `download`, so the browser names it and nothing opens in a tab.
  async function download(path, filename) {
    let r;
    try {
      r = await fetch(cfg.base + path, { credentials: "same-origin" });
    } catch {
      return { status: 0, body: { code: "network" } };
    }
    if (!r.ok) return { status: r.status, body: await parse(r) };
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return { status: r.status, body: null };
  }

  // -- formatting: instants as the API wrote them (in the campaign's zone) ----------
  // Without a zone, an instant is shown at the offset it was written with
  // ("+09:00": nine hours ahead of UTC), which is the campaign's.
  function atOffset(iso) {
    const d = new Date(iso);
    const m = /([+-])(\d\d):(\d\d)$/.exec(String(iso));
    if (!m) return { date: d, zone: "UTC" };
    const minutes = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    return { date: new Date(d.getTime() + minutes * 60000), zone: "UTC" };
  }
  function formatted(iso, zone, options) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const at = zone ? { date: d, zone } : atOffset(iso);
    return new Intl.DateTimeFormat(locale, { timeZone: at.zone, ...options }).format(at.date);
  }
  function fmtTime(iso, zone) {
    return formatted(iso, zone, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }
  function fmtDate(iso, zone) {
    if (/^\d{4}-\d\d-\d\d$/.test(String(iso))) return formatted(`${iso}T00:00:00Z`, "UTC", { dateStyle: "medium" });
    return formatted(iso, zone, { dateStyle: "medium" });
  }
  function fmtDuration(seconds) {
    const s = Math.max(0, Math.floor(Number(seconds) || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  // -- errors -------------------------------------------------------------------------
  function errorText(res) {
    const b = (res && res.body) || {};
    const code = b.code;
    if (code === "network") return t("err_network");
    if (code === "csrf_missing" || code === "csrf_mismatch") return t("err_csrf", { code });
    const known = code && T[`manage.err.${code}`];
    if (known) return t(`manage.err.${code}`, { field: b.field || "", detail: b.detail || "" });
    if (b.detail) return t("manage.err_detail", { detail: String(b.detail) });
    return t("err_generic", { code: code || res.status });
  }

  // The input named by the 422's `field` (a dotted path); a path into a list or
  // an object the form edits as one input (`retry_policy.no_answer.2`) falls back
  // to the longest prefix that names an input.
  function fieldFor(form, field) {
    const parts = String(field || "").split(".");
    while (parts.length) {
      const name = parts.join(".");
      const input = [...form.elements].find((e) => e.name === name);
      if (input) return input;
      parts.pop();
    }
    return null;
  }
  function clearFieldErrors(form) {
    for (const m of form.querySelectorAll(".field-error")) m.remove();
    for (const e of form.querySelectorAll("[aria-invalid]")) {
      e.removeAttribute("aria-invalid");
      const ids = (e.getAttribute("aria-describedby") || "").split(" ").filter((x) => !x.startsWith("err-"));
      if (ids.length) e.setAttribute("aria-describedby", ids.join(" "));
      else e.removeAttribute("aria-describedby");
    }
  }
  let errorSeq = 0;
  // Returns the first input marked, or null (the message then goes to the notice).
  function fieldErrors(form, res) {
    clearFieldErrors(form);
    const b = (res && res.body) || {};
    const fields = (b.errors && b.errors.length) ? b.errors : (b.field ? [{ field: b.field, reason: b.detail }] : []);
    let first = null;
    for (const err of fields) {
      const input = fieldFor(form, err.field);
      if (!input || input.getAttribute("aria-invalid")) continue;
      const id = `err-${++errorSeq}`;
      const text = err === fields[0] ? errorText(res) : t("manage.err_detail", { detail: `${err.field}: ${err.reason}` });
      const msg = el("span", { class: "field-error", id, text });
      // After the label, not inside it: inside, it would change the input's name.
      (input.closest("label") || input).after(msg);
      input.setAttribute("aria-invalid", "true");
      const described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
      if (!first) first = input;
    }
    if (first) first.focus();
    else notice(errorText(res), "error");
    return first;
  }

  // -- DOM ------------------------------------------------------------------------------
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
    }
    return e;
  }

  function notice(text, kind = "info") {
    const n = document.getElementById("notice");
    if (!n) return;
    n.textContent = text || "";
    n.dataset.kind = kind;
  }

  // -- campaigns ----------------------------------------------------------------------
  async function campaigns(force = false) {
    if (campaignList && !force) return campaignList;
    const r = await api("GET", "/api/campaigns");
    campaignList = r.status === 200 ? r.body.items || [] : [];
    return campaignList;
  }

  // Fills `select` with the campaigns (named "Campaign": a label around a select
  // would add the chosen option to its name), picks ?campaign_id=, else the remembered one,
  // else the first; calls onChange(campaign) now and on every change.
  async function campaignPicker(select, { onChange } = {}) {
    select.setAttribute("aria-label", t("manage.campaign"));
    const list = await campaigns();
    select.replaceChildren(...list.map((c) => el("option", { value: String(c.id), text: c.name })));
    const asked = new URLSearchParams(location.search).get("campaign_id");
    let kept = null;
    try { kept = localStorage.getItem(CAMPAIGN_KEY); } catch { kept = null; }
    const ids = list.map((c) => String(c.id));
    const chosen = [asked, kept].find((x) => x && ids.includes(x)) || ids[0] || "";
    select.value = chosen;
    const fire = () => {
      const c = list.find((x) => String(x.id) === select.value) || null;
      try { if (c) localStorage.setItem(CAMPAIGN_KEY, String(c.id)); } catch { /* private mode */ }
      if (onChange) onChange(c);
      return c;
    };
    select.addEventListener("change", fire);
    return fire();
  }

  // -- actions before the page is ready ---------------------------------------------
  // A page's script wires its controls only after it has read the session and its
  // data; a click, Enter or change in that time would otherwise be lost or submit a
  // form natively (a reload). Until the page calls `settled()`, the page's main
  // region is aria-busy and such actions are held here (capture phase, before any
  // handler) and replayed in order once it has.
  const main = document.getElementById("main");
  const held = [];
  let isSettled = false;
  const heldTarget = (node) => {
    if (isSettled || !main || !(node instanceof Element) || !main.contains(node)) return null;
    return node.closest("button, input[type=submit], input[type=image]");
  };
  if (main) main.setAttribute("aria-busy", "true");
  document.addEventListener("click", (ev) => {
    const control = heldTarget(ev.target);
    if (!control || control.disabled) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (!held.some((h) => h.kind === "click" && h.target === control)) held.push({ kind: "click", target: control });
  }, true);
  // A form submitted with no button clicked (Enter in a form without one).
  document.addEventListener("submit", (ev) => {
    if (isSettled || !main || !main.contains(ev.target)) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    held.push({ kind: "submit", target: ev.target, submitter: ev.submitter || null });
  }, true);
  // A choice made in a select, a box ticked, a field changed: its value stays (so a
  // tick is not undone under the hand); its handler hears of it once wired.
  document.addEventListener("change", (ev) => {
    const control = ev.target;
    if (isSettled || !main || !(control instanceof Element) || !main.contains(control)) return;
    ev.stopImmediatePropagation();
    if (!held.some((h) => h.kind === "change" && h.target === control)) held.push({ kind: "change", target: control });
  }, true);
  // What the person typed or chose meanwhile: a page that fills its form once its
  // data is read (a campaign's fields, a form's defaults) would otherwise overwrite
  // it under their hands. Their value wins; the page hears of it as an input.
  const typed = new Map();
  document.addEventListener("input", (ev) => {
    const control = ev.target;
    if (isSettled || !main || !(control instanceof Element) || !main.contains(control)) return;
    if (control instanceof HTMLInputElement && (control.type === "checkbox" || control.type === "radio")) {
      typed.set(control, { checked: control.checked });
    } else if ((control instanceof HTMLInputElement && control.type !== "file")
      || control instanceof HTMLTextAreaElement || control instanceof HTMLSelectElement) {
      typed.set(control, { value: control.value });
    }
  }, true);
  function keepTyped() {
    for (const [control, was] of typed) {
      if (!control.isConnected) continue;
      if ("checked" in was) {
        if (control.checked === was.checked) continue;
        control.checked = was.checked;
      } else {
        if (control.value === was.value) continue;
        // A choice among options the page has since replaced is gone with them.
        if (control instanceof HTMLSelectElement && ![...control.options].some((o) => o.value === was.value)) continue;
        control.value = was.value;
      }
      control.dispatchEvent(new Event("input", { bubbles: true }));
    }
    typed.clear();
  }
  function settled() {
    if (isSettled) return;
    isSettled = true;
    if (main) main.removeAttribute("aria-busy");
    keepTyped();
    for (const h of held.splice(0)) {
      if (!h.target.isConnected) continue;
      if (h.kind === "click") h.target.click();
      else if (h.kind === "submit") h.target.requestSubmit(h.submitter && h.submitter.isConnected ? h.submitter : undefined);
      else h.target.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  // -- the session ----------------------------------------------------------------------
  const ready = (async () => {
    const r = await api("GET", "/api/session");
    if (r.status !== 200 || !r.body) {
      if (r.status === 401) toLogin();
      throw new Error(`no session (${r.status})`);
    }
    csrf = r.body.csrf_token;
    Manage.me = r.body.agent;
    return Manage.me;
  })();
  ready.catch(() => {});

  // The language switch keeps what the page shows (a campaign, a period, a search).
  // Read when followed: a page may have moved its address since it loaded.
  for (const link of document.querySelectorAll(".langs a[hreflang]")) {
    const keep = () => {
      const params = new URLSearchParams(location.search);
      params.set("lang", link.getAttribute("hreflang"));
      link.href = `${location.pathname}?${params}`;
    };
    keep();
    link.addEventListener("click", keep);
  }

  document.getElementById("sign-out")?.addEventListener("click", async () => {
    await ready.catch(() => {});
    await api("DELETE", "/api/session");
    toLogin();
  });

  // Who did it, in words: the name the API gave, else the account's from `agents`
  // (id → name), else its role and id ("Manager #3"); "system" for the system.
  function actorName(actor, name, agents = new Map()) {
    if (name) return name;
    const m = /^(agent|manager):(\w+)$/.exec(actor || "");
    if (actor === "dialer") return t("who_dialer");
    if (!m) return actor === "system" || !actor ? t("manage.h.system") : actor;
    const known = /^\d+$/.test(m[2]) ? agents.get(Number(m[2])) : null;
    return known || `${t(`manage.p.role_${m[1]}`)}${/^\d+$/.test(m[2]) ? ` #${m[2]}` : ""}`;
  }

  // A dialing block's meaning in the page's language; Twilio's own words for a
  // fault the catalog does not name.
  function blockText(block) {
    const key = `manage.block.${block.code}`;
    return key in T ? t(key) : (block.detail || block.code);
  }

  const Manage = {
    cfg, me: null, ready, t, api, upload, download, fmtTime, fmtDate, fmtDuration,
    errorText, fieldErrors, clearFieldErrors, campaigns, campaignPicker, el, notice,
    actorName, blockText, settled,
  };
  window.Manage = Manage;
})();
