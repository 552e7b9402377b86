// Fleetwave dashboard script, inlined into GET / by dashboard.tsx (plain browser JS, no build step).
// It renders nothing itself: every few seconds and after each action it swaps #live for the
// server-rendered fragment at data-live-url, and it sends the buttons' actions with the token
// kept in sessionStorage.
(() => {
  const TOKEN_KEY = "fleetwave.apiToken";
  const refreshMs = Number(document.body.dataset.refreshSeconds || "5") * 1000;
  const liveUrl = document.body.dataset.liveUrl;
  const live = document.getElementById("live");
  const message = document.getElementById("message");
  const who = document.getElementById("who");
  const tokenInput = document.getElementById("token");
  const reasonInput = document.getElementById("reason");
  const refreshed = document.getElementById("refreshed");
  // Actions in flight: their buttons stay disabled across swaps.
  const busy = new Set();
  const keyOf = (button) => `${button.dataset.action}:${button.dataset.id || ""}`;

  // Only a changed fragment replaces the DOM, so focus and hover survive an idle refresh.
  function swap(html) {
    const next = document.createElement("template");
    next.innerHTML = html;
    for (const button of next.content.querySelectorAll("button[data-action]")) {
      button.disabled = busy.has(keyOf(button));
    }
    if (next.innerHTML !== live.innerHTML) live.replaceChildren(next.content);
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = kind || "";
  }

  async function refresh() {
    try {
      const response = await fetch(liveUrl, { headers: { Accept: "text/html" }, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      swap(await response.text());
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
    "bot-rollback": (id) => ({
      url: `/api/bots/${encodeURIComponent(id)}/rollback`,
      confirm: `Roll ${id} back to the last version it ran healthily? The bot is pinned there (committed in git) and restarts.`,
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

  async function act(button) {
    const { action, id } = button.dataset;
    const spec = actions[action]?.(id);
    if (!spec) return;
    if (!token()) {
      say("Paste an API token (from FLEETWAVE_API_TOKENS) first.", "bad");
      tokenInput.focus();
      return;
    }
    if (spec.confirm && !window.confirm(spec.confirm)) return;
    const key = keyOf(button);
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
    if (target && !target.disabled) act(target);
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
