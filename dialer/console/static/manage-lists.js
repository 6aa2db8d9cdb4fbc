// A campaign's lead lists: pick a file, preview it (encoding, delimiter, the
// column mapping the import will use, the first rows and their problems), adjust
// the mapping, import with a real progress bar (the upload's bytes sent, then the
// rows processed as GET /api/imports/{id} reports them), read the report,
// download errors.csv, and see the campaign's imports.
"use strict";
(async () => {
  const M = window.Manage;
  const { t, el, api } = M;
  const $ = (id) => document.getElementById(id);
  const id = M.cfg.campaign_id;
  // How often a running import is asked for its progress: it is a job's
  // progress (the service updates it after every batch), not the floor.
  const POLL_MS = 500;
  await M.ready;

  const c = await api("GET", `/api/campaigns/${id}`);
  if (c.status !== 200) { M.notice(M.errorText(c), "error"); return; }
  const campaign = c.body;
  const zone = campaign.timezone;
  $("campaign-link").textContent = campaign.name;
  document.title = `${t("manage.lead_lists")} — ${campaign.name}`;

  const form = $("upload-form");
  const fileInput = form.elements.file;
  let mapping = {};        // header as written → canonical column, as the person chose
  let preview = null;

  const delimiterText = (d) => ({ ",": t("manage.l.delim_comma"), "\t": t("manage.l.delim_tab"),
    ";": t("manage.l.delim_semicolon") })[d] || JSON.stringify(d);
  const statusText = (s) => t(`manage.l.status_${s}`);

  // -- the progress bar: the upload, then the rows processed --------------------------
  function progress(kind, done, total, text) {
    $("progress-line").hidden = false;
    $("progress-label").textContent = kind === "upload" ? t("manage.l.progress_upload") : t("manage.l.progress_rows");
    const bar = $("progress");
    bar.max = Math.max(1, total || 1);
    bar.value = Math.min(done, bar.max);
    $("progress-text").textContent = text;
  }
  const kb = (n) => ((n || 0) / 1024).toFixed(1);
  const onUpload = (loaded, total) => progress("upload", loaded, total,
    t("manage.l.progress_bytes", { done: kb(loaded), total: kb(total) }));

  function formData(file) {
    const fd = new FormData();
    fd.append("file", file, file.name);
    if (Object.keys(mapping).length) fd.append("mapping", JSON.stringify(mapping));
    return fd;
  }
  function chosenFile() {
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      M.fieldErrors(form, { status: 422, body: { field: "file", detail: t("manage.l.choose_file") } });
      M.notice(t("manage.l.choose_file"), "error");
    }
    return file;
  }

  // -- preview --------------------------------------------------------------------------
  // Only the first MiB is read by the service: only that much is sent.
  const PREVIEW_BYTES = 1048576;
  async function runPreview() {
    const file = chosenFile();
    if (!file) return;
    M.clearFieldErrors(form);
    const part = file.size > PREVIEW_BYTES ? new File([file.slice(0, PREVIEW_BYTES)], file.name, { type: file.type }) : file;
    onUpload(0, part.size);
    const r = await M.upload(`/api/campaigns/${id}/imports/preview`, formData(part), onUpload);
    if (r.status !== 200) {
      $("preview-panel").hidden = true;
      M.fieldErrors(form, r.body && r.body.field ? r : { ...r, body: { ...(r.body || {}), field: "file" } });
      return;
    }
    preview = r.body;
    showPreview();
    M.notice("");
  }

  function showPreview() {
    const p = preview;
    $("preview-panel").hidden = false;
    $("pv-filename").textContent = p.filename;
    $("pv-encoding").textContent = p.encoding;
    $("pv-delimiter").textContent = delimiterText(p.delimiter);
    $("pv-no-phone").hidden = p.has_phone;
    $("import-button").disabled = !p.has_phone;
    const head = el("tr", {}, ...p.columns.map((col) => {
      const select = el("select", { "aria-label": t("manage.l.column_for", { header: col.header }), "data-header": col.header },
        el("option", { value: "", text: t("manage.l.keep_extra") }),
        ...p.fields.map((f) => el("option", { value: f, text: f })));
      select.value = col.field || "";
      select.addEventListener("change", () => {
        // "" keeps the column as an extra field, even one an alias would map.
        mapping[col.header] = select.value;
        runPreview();
      });
      return el("th", { scope: "col" }, el("span", { class: "header", text: col.header }), el("br"), select);
    }));
    $("preview-head").replaceChildren(head);
    $("preview-rows").replaceChildren(...p.rows.map((row) => el("tr", {}, ...row.map((cell) => el("td", { text: cell })))));
    const errs = p.errors || [];
    $("pv-errors").replaceChildren(...(errs.length ? [
      el("h4", { text: t("manage.l.row_errors") }),
      el("ul", { class: "errors" }, ...errs.map((e) => el("li", { text: t("manage.l.row_error", e) }))),
    ] : []));
  }

  // Preview again keeps the columns chosen; a new file starts afresh.
  form.addEventListener("submit", (ev) => { ev.preventDefault(); runPreview(); });
  fileInput.addEventListener("change", () => { mapping = {}; $("preview-panel").hidden = true; });

  // -- import -----------------------------------------------------------------------------
  $("import-button").addEventListener("click", async () => {
    const file = chosenFile();
    if (!file) return;
    const button = $("import-button");
    button.disabled = true;
    $("report-panel").hidden = true;
    try {
      onUpload(0, file.size);
      const r = await M.upload(`/api/campaigns/${id}/imports`, formData(file), onUpload);
      if (r.status !== 201 && r.status !== 200) { M.notice(M.errorText(r), "error"); return; }
      let report = r.body;
      rowsProgress(report);
      while (report.status === "running") {
        await new Promise((done) => setTimeout(done, POLL_MS));
        const next = await api("GET", `/api/imports/${report.id}`);
        if (next.status !== 200) { M.notice(M.errorText(next), "error"); break; }
        report = next.body;
        rowsProgress(report);
      }
      showReport(report);
      loadImports();
    } finally {
      button.disabled = false;
    }
  });

  function rowsProgress(report) {
    const size = report.size_bytes ?? 0;
    const read = report.status === "running" ? (report.bytes_read ?? 0) : size;
    const percent = size ? Math.round((100 * read) / size) : 100;
    progress("rows", size ? read : 1, size || 1, t("manage.l.progress_rows_text", { rows: report.rows ?? 0, percent }));
  }

  function showReport(r) {
    $("report-panel").hidden = false;
    $("r-status").textContent = statusText(r.status);
    for (const k of ["rows", "accepted", "duplicates", "invalid", "suppressed"]) $(`r-${k}`).textContent = String(r[k] ?? 0);
    $("r-encoding").textContent = r.encoding || (preview && preview.encoding) || "—";
    $("r-delimiter").textContent = delimiterText(r.delimiter || (preview && preview.delimiter));
    $("r-error").textContent = r.error || "";
    $("r-errors").replaceChildren(...(r.errors || []).slice(0, 20).map((e) => el("li", { text: t("manage.l.row_error", e) })));
    const link = $("errors-link");
    const rejected = (r.duplicates || 0) + (r.invalid || 0) + (r.suppressed || 0);
    link.hidden = !rejected;
    link.href = `${M.cfg.base}/api/imports/${r.id}/errors.csv`;
    link.onclick = (ev) => { ev.preventDefault(); M.download(`/api/imports/${r.id}/errors.csv`, "errors.csv"); };
    if (r.status === "done") M.notice(t("manage.l.imported", { accepted: r.accepted }), "ok");
    $("report-h").focus?.();
  }

  // -- the campaign's imports ------------------------------------------------------------
  async function loadImports() {
    const r = await api("GET", `/api/campaigns/${id}/imports?limit=50`);
    if (r.status !== 200) return;
    const rows = r.body.items.map((i) => el("tr", {},
      el("td", {}, el("time", { datetime: i.created_at, text: M.fmtTime(i.created_at, zone) })),
      el("td", { text: i.filename || "—" }),
      el("td", { text: statusText(i.status) }),
      ...["rows", "accepted", "duplicates", "invalid", "suppressed"].map((k) => el("td", { class: "num", text: String(i[k] ?? 0) })),
      el("td", {}, (i.duplicates || i.invalid || i.suppressed) ? el("a", {
        href: `${M.cfg.base}/api/imports/${i.id}/errors.csv`, text: "errors.csv",
        "aria-label": `${t("manage.l.download_errors")} (${i.filename || i.id})`,
        onclick: (ev) => { ev.preventDefault(); M.download(`/api/imports/${i.id}/errors.csv`, "errors.csv"); },
      }) : null),
    ));
    $("import-rows").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: "9", class: "empty", text: t("manage.l.no_imports") }))]));
  }
  await loadImports();
})().finally(() => window.Manage.settled());
