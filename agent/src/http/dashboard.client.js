// Fleetwave dashboard script, inlined into GET / by dashboard.ts (plain browser JS, no build step).
// Re-renders #live from /api/status every few seconds with the same markup as the server,
// using textContent only (no HTML strings), and sends actions with the token in sessionStorage.
(() => {
  const TOKEN_KEY = "fleetwave.apiToken";
  const refreshMs = Number(document.body.dataset.refreshSeconds || "5") * 1000;
  const live = document.getElementById("live");
  const message = document.getElementById("message");
  const who = document.getElementById("who");
  const tokenInput = document.getElementById("token");
  const reasonInput = document.getElementById("reason");
  const refreshed = document.getElementById("refreshed");
  const busy = new Set();

  // --- helpers kept identical to dashboard.ts ---
  function shortDigest(digest) {
    if (!digest) return "—";
    return digest.startsWith("sha256:") ? digest.slice(7, 19) : digest.slice(0, 12);
  }
  function formatTime(iso) {
    if (!iso) return "—";
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }
  function tone(word) {
    if (["running", "updated", "active", "completed", "auto"].includes(word)) return "ok";
    if (
      ["updating", "paused", "pending", "update-available", "skipped", "in-progress", "manual"].includes(word)
    )
      return "warn";
    return "bad";
  }

  // h("td", { class: "x", title: "y" }, "text", node, ...) — strings become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("data-")) el.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
      else el.setAttribute(k, String(v));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false || child === "") continue;
      el.append(
        typeof child === "string" || typeof child === "number"
          ? document.createTextNode(String(child))
          : child,
      );
    }
    return el;
  }
  const badge = (word) => h("span", { class: `badge ${tone(word)}` }, word);
  const code = (text, title) => h("code", { title }, text);
  const button = (label, action, id, cls) =>
    h(
      "button",
      {
        type: "button",
        class: cls,
        "data-action": action,
        "data-id": id,
        disabled: busy.has(`${action}:${id || ""}`),
      },
      label,
    );

  function progressSummary(progress) {
    if (!progress) return "not started here";
    const counts = new Map();
    for (const bot of Object.values(progress.bots)) counts.set(bot.result, (counts.get(bot.result) || 0) + 1);
    return [`waves done ${progress.wavesDone}`, ...[...counts].map(([r, n]) => `${n} ${r}`)].join(" · ");
  }

  function lastCell(bot) {
    const last = bot.last;
    if (!last) return [h("span", { class: "muted" }, "no update yet")];
    return [
      badge(last.result),
      " ",
      h("span", { class: "muted" }, formatTime(last.at)),
      h(
        "div",
        { class: "small" },
        code(shortDigest(last.from)),
        " → ",
        code(shortDigest(last.to)),
        last.actor ? ` by ${last.actor}` : "",
      ),
      last.reason ? h("div", { class: "small reason" }, last.reason) : null,
    ];
  }

  function section(title, count, table) {
    return h("section", {}, h("h2", {}, `${title} `, h("span", { class: "count" }, String(count))), table);
  }
  function table(id, headers, rows, empty) {
    const body =
      rows.length > 0 ? rows : [h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, empty))];
    return h(
      "table",
      { id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((t) => h("th", {}, t)),
        ),
      ),
      h("tbody", {}, body),
    );
  }

  function render(status) {
    const nodes = [];
    if (status.lastError) {
      const e = status.lastError;
      nodes.push(
        h(
          "div",
          { class: "error", role: "alert" },
          h("strong", {}, `Last error (${e.source})`),
          ` · ${formatTime(e.at)}`,
          h("div", {}, e.message),
        ),
      );
    }
    nodes.push(
      h(
        "div",
        { class: "bar" },
        h("span", {}, "Fleet ", badge(status.paused ? "paused" : "active")),
        h(
          "span",
          { class: "muted" },
          "commit ",
          code(status.observedCommit ? status.observedCommit.slice(0, 12) : "none"),
        ),
        h("span", { class: "muted" }, `last reconcile ${formatTime(status.lastReconcileAt)}`),
        h("span", { class: "spacer" }),
        status.paused ? button("Resume fleet", "fleet-resume") : button("Pause fleet", "fleet-pause"),
        " ",
        button("Reconcile now", "reconcile"),
      ),
    );
    const waiting = status.bots.filter((b) => b.updateAvailable);
    if (waiting.length > 0) {
      const rows = waiting.map((b) =>
        h(
          "tr",
          { "data-bot": b.id },
          h("td", {}, h("strong", {}, b.id)),
          h("td", {}, b.tenant),
          h(
            "td",
            {},
            code(shortDigest(b.digest), b.digest || ""),
            " → ",
            code(shortDigest(b.updateAvailable.digest), b.updateAvailable.digest),
          ),
          h("td", {}, code(b.updateAvailable.rollout)),
          h("td", {}, button("Update now", "update-bot", b.id, "primary")),
        ),
      );
      nodes.push(
        section(
          "Waiting for “Update now”",
          waiting.length,
          table("waiting", ["Bot", "Tenant", "Digest", "Rollout", ""], rows, ""),
        ),
      );
    }
    const botRows = status.bots.map((b) =>
      h(
        "tr",
        { "data-bot": b.id },
        h("td", {}, h("strong", {}, b.id)),
        h("td", {}, b.tenant, " ", badge(b.updateMode)),
        h("td", {}, code(shortDigest(b.digest), b.digest || "")),
        h("td", {}, badge(b.state)),
        h("td", {}, lastCell(b)),
      ),
    );
    nodes.push(
      section(
        "Bots",
        status.bots.length,
        table("bots", ["Bot", "Tenant", "Digest", "State", "Last update"], botRows, "No bots on this host."),
      ),
    );
    const rolloutRows = status.rollouts.map((r) => {
      const s = r.control.state;
      const who = [r.control.by, r.control.reason].filter(Boolean).join(": ");
      return h(
        "tr",
        { "data-rollout": r.id },
        h(
          "td",
          {},
          code(r.id),
          h(
            "div",
            { class: "small muted" },
            `${r.strategy} · ${r.targets.onThisHost}/${r.targets.total} bots here`,
          ),
        ),
        h("td", {}, r.image, h("div", { class: "small" }, code(shortDigest(r.digest), r.digest))),
        h("td", {}, badge(s), who ? h("div", { class: "small muted" }, who) : null),
        h(
          "td",
          {},
          r.progress ? badge(r.progress.state) : null,
          h("div", { class: "small muted" }, progressSummary(r.progress)),
        ),
        h(
          "td",
          {},
          s === "aborted"
            ? h("span", { class: "muted" }, "final")
            : [
                s === "active"
                  ? button("Pause", "rollout-pause", r.id)
                  : button("Resume", "rollout-resume", r.id),
                " ",
                button("Abort", "rollout-abort", r.id, "danger"),
              ],
        ),
      );
    });
    nodes.push(
      section(
        "Rollouts",
        status.rollouts.length,
        table(
          "rollouts",
          ["Rollout", "Image", "Control", "This host", ""],
          rolloutRows,
          "No rollout plans in fleet-state.",
        ),
      ),
    );
    live.replaceChildren(...nodes);
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = kind || "";
  }

  async function refresh() {
    try {
      const response = await fetch("/api/status", {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
      refreshed.textContent = `refreshed ${new Date().toISOString().slice(11, 19)} UTC`;
      refreshed.className = "muted";
    } catch (error) {
      refreshed.textContent = `agent unreachable (${error.message}); retrying`;
      refreshed.className = "bad";
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  async function checkToken() {
    if (!token()) {
      who.textContent = "No token: actions are disabled.";
      who.className = "muted";
      return;
    }
    try {
      const response = await fetch("/api/whoami", { headers: { Authorization: `Bearer ${token()}` } });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        who.textContent = `Acting as ${body.actor}`;
        who.className = "";
        if (message.className === "bad") say("");
      } else {
        who.textContent = `Token rejected: ${body.error || response.status}`;
        who.className = "bad";
      }
    } catch (error) {
      who.textContent = `Cannot check the token: ${error.message}`;
      who.className = "bad";
    }
  }

  const actions = {
    "update-bot": (id) => ({
      url: `/api/bots/${encodeURIComponent(id)}/update`,
      confirm: `Update ${id} now? The bot restarts.`,
    }),
    "rollout-pause": (id) => ({ url: `/api/rollouts/${encodeURIComponent(id)}/pause` }),
    "rollout-resume": (id) => ({ url: `/api/rollouts/${encodeURIComponent(id)}/resume` }),
    "rollout-abort": (id) => ({
      url: `/api/rollouts/${encodeURIComponent(id)}/abort`,
      confirm: `Abort rollout ${id}? This is final.`,
    }),
    "fleet-pause": () => ({ url: "/api/pause", confirm: "Pause every rollout fleet-wide?" }),
    "fleet-resume": () => ({ url: "/api/resume" }),
    reconcile: () => ({ url: "/api/reconcile" }),
  };

  async function act(action, id, button) {
    const spec = actions[action]?.(id);
    if (!spec) return;
    if (!token()) {
      say("Paste an API token (from FLEETWAVE_API_TOKENS) first.", "bad");
      tokenInput.focus();
      return;
    }
    if (spec.confirm && !window.confirm(spec.confirm)) return;
    const key = `${action}:${id || ""}`;
    busy.add(key);
    button.disabled = true;
    say(`${button.textContent}…`);
    try {
      const reason = reasonInput.value.trim();
      const response = await fetch(spec.url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
        body: JSON.stringify(reason ? { reason } : {}),
      });
      const body = await response.json().catch(() => ({}));
      const text = body.message || body.error || `HTTP ${response.status}`;
      const detail = Array.isArray(body.issues)
        ? ` (${body.issues.map((i) => `${i.path}: ${i.message}`).join("; ")})`
        : "";
      say(response.ok ? text : `${response.status}: ${text}${detail}`, response.ok ? "ok" : "bad");
      if (response.ok) reasonInput.value = "";
    } catch (error) {
      say(`Request failed: ${error.message}`, "bad");
    } finally {
      busy.delete(key);
      await refresh();
    }
  }

  live.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
    if (target && !target.disabled) act(target.dataset.action, target.dataset.id, target);
  });
  document.getElementById("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = tokenInput.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    tokenInput.value = "";
    checkToken();
  });
  document.getElementById("forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    checkToken();
  });

  checkToken();
  setInterval(refresh, refreshMs);
})();
