// The sign-in page: posts the name and password as JSON to POST /api/session and
// says in the page's language why a refusal happened.
"use strict";
(() => {
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const T = JSON.parse(document.getElementById("console-catalog").textContent);
  const t = (key, vars = {}) =>
    (T[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const when = (iso) =>
    new Intl.DateTimeFormat(cfg.lang === "ja" ? "ja-JP" : "en-GB", {
      dateStyle: "medium", timeStyle: "short",
    }).format(new Date(iso));

  function refusal(status, body) {
    const code = body && body.code;
    if (code === "bad_credentials") return t("err_bad_credentials");
    if (code === "sign_in_backoff") return t("err_backoff", { seconds: body.retry_after ?? "?" });
    if (code === "account_locked") return t("err_locked", { time: body.locked_until ? when(body.locked_until) : "?" });
    if (code === "account_deactivated") return t("err_deactivated");
    if (code === "cross_origin") return t("err_cross_origin");
    if (code === "validation_error") return t("err_fields");
    return t("err_generic", { code: code || status });
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const name = form.elements.name.value;
    const password = form.elements.password.value;
    if (!name.trim() || !password) { error.textContent = t("err_fields"); return; }
    const button = document.getElementById("login-submit");
    button.disabled = true;
    try {
      const r = await fetch(cfg.base + "/api/session", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ name, password }),
      });
      if (r.ok) { location.assign(cfg.base + "/"); return; }
      let body = null;
      try { body = await r.json(); } catch { body = null; }
      error.textContent = refusal(r.status, body);
      form.elements.password.select();
    } catch {
      error.textContent = t("err_network");
    } finally {
      button.disabled = false;
    }
  });
})();
