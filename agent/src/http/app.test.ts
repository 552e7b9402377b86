import { beforeEach, describe, expect, it } from "vitest";
import { createApp, type FleetwaveApp, WEBHOOK_BODY_LIMIT_BYTES } from "./app.ts";
import { DIGEST_V1, DIGEST_V2, type FakeControl, fakeControl, ROLLOUT_ID } from "./fake-control.ts";
import { parseApiTokens } from "./tokens.ts";
import { signGitHubPayload } from "./webhook.ts";

const ALICE = "alice-token-0123456789";
const BOB = "bob:token:with:colons-xyz";
const SECRET = "webhook-secret-for-tests";

let control: FakeControl;
let app: FleetwaveApp;

beforeEach(() => {
  control = fakeControl();
  app = createApp(control, {
    tokens: parseApiTokens(`alice:${ALICE}, bob:${BOB}`),
    webhookSecret: SECRET,
    log: () => {},
  });
});

function post(path: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  return app.request(path, { method: "POST", headers, body: init.body });
}

describe("read-only routes", () => {
  it("GET /healthz", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", host: "host-a" });
  });

  it("GET /api/status returns the control's view as JSON", async () => {
    const res = await app.request("/api/status");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as ReturnType<FakeControl["status"]>;
    expect(body.host).toBe("host-a");
    expect(body.paused).toBe(false);
    expect(body.bots.map((b) => b.id)).toEqual(["acme-main", "beta-1", "gamma-1"]);
    expect(body.bots[2]).toMatchObject({ updateAvailable: { rollout: ROLLOUT_ID, digest: DIGEST_V2 } });
    expect(body.rollouts[0]).toMatchObject({
      id: ROLLOUT_ID,
      control: { state: "active" },
      targets: { total: 4, onThisHost: 3 },
      progress: { state: "in-progress", wavesDone: 1 },
    });
    expect(body.lastError).toMatchObject({ source: "git-push" });
  });

  it("GET /api/rollouts and /api/rollouts/:id", async () => {
    const list = await app.request("/api/rollouts");
    expect(list.status).toBe(200);
    const { rollouts } = (await list.json()) as { rollouts: { id: string }[] };
    expect(rollouts.map((r) => r.id)).toEqual([ROLLOUT_ID]);

    const one = await app.request(`/api/rollouts/${ROLLOUT_ID}`);
    expect(one.status).toBe(200);
    const detail = (await one.json()) as { id: string; plan: { targets: unknown[] } };
    expect(detail.id).toBe(ROLLOUT_ID);
    expect(detail.plan.targets).toHaveLength(4);
  });

  it("GET /api/rollouts/:id: 404 for an unknown id, 400 for a malformed one", async () => {
    const missing = await app.request("/api/rollouts/2026-01-01T0000Z-00000000");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "no rollout 2026-01-01T0000Z-00000000 in the current fleet-state",
    });

    const bad = await app.request("/api/rollouts/not-a-rollout");
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; issues: { path: string; message: string }[] };
    expect(body.issues[0]?.path).toBe("params.id");
    expect(body.issues[0]?.message).toMatch(/UTC/);
  });

  it("unknown routes are 404 JSON; a known path with the wrong method is 405 with Allow", async () => {
    const res = await app.request("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no route for GET /nope" });

    const wrong = await app.request("/api/pause");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(((await wrong.json()) as { error: string }).error).toMatch(/not allowed/);
  });

  it("refuses a non-loopback Host (DNS rebinding) but still serves /healthz", async () => {
    const res = await app.request("http://evil.example/api/status");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/evil\.example/);
    expect((await app.request("http://evil.example/healthz")).status).toBe(200);
    expect((await app.request("http://127.0.0.1:8787/api/status")).status).toBe(200);
    expect((await app.request("http://[::1]:8787/api/status")).status).toBe(200);

    const proxied = createApp(control, { tokens: [], allowedHosts: ["fleet.internal"] });
    expect((await proxied.request("http://fleet.internal/api/status")).status).toBe(200);
    expect((await proxied.request("http://other.internal/api/status")).status).toBe(403);
  });
});

describe("authentication", () => {
  const mutating = [
    "/api/bots/gamma-1/update",
    "/api/bots/gamma-1/rollback",
    `/api/rollouts/${ROLLOUT_ID}/pause`,
    `/api/rollouts/${ROLLOUT_ID}/resume`,
    `/api/rollouts/${ROLLOUT_ID}/abort`,
    "/api/pause",
    "/api/resume",
    "/api/reconcile",
  ];

  it.each(mutating)("POST %s without a token is 401 with WWW-Authenticate", async (path) => {
    const res = await post(path);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await res.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
    expect(control.calls).toEqual([]);
  });

  it.each(mutating)("POST %s with a wrong token is 403", async (path) => {
    const res = await post(path, { token: "alice-token-0123456780" });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "invalid token" });
    expect(control.calls).toEqual([]);
  });

  it("a malformed Authorization header is 401", async () => {
    const res = await post("/api/pause", { headers: { Authorization: `Basic ${ALICE}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/invalid_request/);
  });

  it("auth is checked before the URL and body are validated", async () => {
    expect((await post("/api/bots/-bad-/update", { body: "{nope" })).status).toBe(401);
  });

  it("with no tokens configured, mutating routes answer 503 and say how to enable them", async () => {
    const readOnly = createApp(control, { tokens: [] });
    const res = await readOnly.request("/api/pause", {
      method: "POST",
      headers: { Authorization: `Bearer ${ALICE}` },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/FLEETWAVE_API_TOKENS/);
    expect(control.calls).toEqual([]);
  });

  it("GET /api/whoami names the token's holder", async () => {
    const res = await app.request("/api/whoami", { headers: { Authorization: `bearer ${BOB}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ actor: "bob" });
    expect((await app.request("/api/whoami")).status).toBe(401);
  });
});

describe("actions", () => {
  it("Update now passes the bot and the token's name as actor", async () => {
    const res = await post("/api/bots/gamma-1/update", { token: ALICE });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      message: "gamma-1 updated",
      commit: "c0ffee0000000000000000000000000000000000",
    });
    expect(control.calls).toEqual([{ method: "updateBotNow", botId: "gamma-1", actor: "alice" }]);
  });

  it("Update now for a bot already on the rollout's target is 409 with the reason, and no commit", async () => {
    const res = await post("/api/bots/acme-main/update", { token: ALICE });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: `bot acme-main already runs ${DIGEST_V2.slice(0, 19)}, the target of rollout ${ROLLOUT_ID}; nothing to update`,
    });
  });

  it("rollback passes the bot, the actor and the optional digest and reason; a bad digest is 400", async () => {
    const previous = await post("/api/bots/gamma-1/rollback", { token: ALICE });
    expect(previous.status).toBe(200);
    expect(await previous.json()).toEqual({ message: "roll back gamma-1: committed as alice" });
    const to = await post("/api/bots/gamma-1/rollback", {
      token: ALICE,
      body: JSON.stringify({ to: DIGEST_V1, reason: "exports broke" }),
    });
    expect(to.status).toBe(200);
    expect(control.calls).toEqual([
      { method: "rollbackBot", botId: "gamma-1", actor: "alice", to: undefined, reason: undefined },
      { method: "rollbackBot", botId: "gamma-1", actor: "alice", to: DIGEST_V1, reason: "exports broke" },
    ]);
    const bad = await post("/api/bots/gamma-1/rollback", {
      token: ALICE,
      body: JSON.stringify({ to: "v1" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe("body.to");
    expect(control.calls).toHaveLength(2);
    expect((await post("/api/bots/nobody/rollback", { token: ALICE })).status).toBe(404);
  });

  it("rollout pause/resume/abort map to control states, with the reason", async () => {
    for (const [verb, state] of [
      ["pause", "paused"],
      ["resume", "active"],
      ["abort", "aborted"],
    ] as const) {
      const res = await post(`/api/rollouts/${ROLLOUT_ID}/${verb}`, {
        token: BOB,
        body: JSON.stringify({ reason: `  ${verb} for test  ` }),
      });
      expect(res.status).toBe(200);
      expect(control.calls.at(-1)).toEqual({
        method: "setRolloutControl",
        id: ROLLOUT_ID,
        state,
        actor: "bob",
        reason: `${verb} for test`,
      });
    }
  });

  it("fleet pause and resume; an empty body is allowed", async () => {
    expect((await post("/api/pause", { token: ALICE, body: "" })).status).toBe(200);
    expect((await post("/api/resume", { token: BOB, body: "{}" })).status).toBe(200);
    expect(control.calls).toEqual([
      { method: "setFleetPaused", paused: true, actor: "alice", reason: undefined },
      { method: "setFleetPaused", paused: false, actor: "bob", reason: undefined },
    ]);
  });

  it("reconcile is requested without waiting, with the actor in the reason", async () => {
    const res = await post("/api/reconcile", { token: ALICE, body: '{"reason":"new tenant"}' });
    expect(res.status).toBe(202);
    expect(control.calls).toEqual([
      { method: "requestReconcile", reason: "api request by alice: new tenant" },
    ]);
  });

  it("a failed action answers with the control's status and message", async () => {
    control.nextResult = { ok: false, status: 423, message: "the fleet is paused" };
    const res = await post("/api/bots/gamma-1/update", { token: ALICE });
    expect(res.status).toBe(423);
    expect(await res.json()).toEqual({ error: "the fleet is paused" });

    control.nextResult = { ok: false, status: 409, message: "rollout is aborted" };
    expect((await post(`/api/rollouts/${ROLLOUT_ID}/resume`, { token: ALICE })).status).toBe(409);
  });

  it("an action accepted but still running is 202 with pending", async () => {
    control.nextResult = { ok: true, message: "update of gamma-1 started", pending: true };
    const res = await post("/api/bots/gamma-1/update", { token: ALICE });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ message: "update of gamma-1 started", pending: true });
  });

  it("an exception in the control is a 500 without internals", async () => {
    const lines: string[] = [];
    const broken = createApp(
      {
        ...control,
        updateBotNow: () => Promise.reject(new Error("secret internals")),
      },
      { tokens: parseApiTokens(`alice:${ALICE}`), log: (l) => lines.push(l) },
    );
    const res = await broken.request("/api/bots/gamma-1/update", {
      method: "POST",
      headers: { Authorization: `Bearer ${ALICE}` },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal error (see the agent log)" });
    expect(lines.join("\n")).toMatch(/secret internals/);
  });
});

describe("validation", () => {
  async function issues(res: Response) {
    expect(res.status).toBe(400);
    return (await res.json()) as { error: string; issues: { path: string; message: string }[] };
  }

  it("rejects unknown keys", async () => {
    const body = await issues(
      await post("/api/pause", { token: ALICE, body: '{"reason":"x","force":true}' }),
    );
    expect(body.error).toBe("invalid request body");
    expect(body.issues).toEqual([{ path: "body", message: expect.stringMatching(/force/) }]);
  });

  it("rejects a too long, empty, multi-line or non-string reason", async () => {
    const long = await issues(
      await post("/api/pause", { token: ALICE, body: JSON.stringify({ reason: "x".repeat(501) }) }),
    );
    expect(long.issues[0]).toEqual({ path: "body.reason", message: "reason must be at most 500 characters" });
    const empty = await issues(await post("/api/pause", { token: ALICE, body: '{"reason":"  "}' }));
    expect(empty.issues[0]?.path).toBe("body.reason");
    const lines = await issues(
      await post("/api/pause", {
        token: ALICE,
        body: JSON.stringify({ reason: "ok\nFleetwave-Event: forged" }),
      }),
    );
    expect(lines.issues[0]?.message).toMatch(/single line/);
    const number = await issues(await post("/api/pause", { token: ALICE, body: '{"reason":5}' }));
    expect(number.issues[0]?.path).toBe("body.reason");
    expect(control.calls).toEqual([]);
  });

  it("rejects a body that is not JSON or not an object", async () => {
    expect((await issues(await post("/api/pause", { token: ALICE, body: "reason=x" }))).error).toMatch(
      /must be JSON/,
    );
    expect((await issues(await post("/api/pause", { token: ALICE, body: "[]" }))).issues[0]?.path).toBe(
      "body",
    );
  });

  it("rejects a malformed bot id or rollout id", async () => {
    const bot = await issues(await post("/api/bots/-oops/update", { token: ALICE }));
    expect(bot.issues).toEqual([{ path: "params.id", message: expect.stringMatching(/bot id must start/) }]);
    const rollout = await issues(await post("/api/rollouts/latest/abort", { token: ALICE }));
    expect(rollout.issues[0]?.path).toBe("params.id");
    expect(control.calls).toEqual([]);
  });

  it("rejects an oversized body with 413", async () => {
    const res = await post("/api/pause", {
      token: ALICE,
      body: JSON.stringify({ reason: "x".repeat(20_000) }),
    });
    expect(res.status).toBe(413);
  });
});

describe("POST /webhooks/github", () => {
  const push = (ref: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      ref,
      before: "0".repeat(40),
      after: "3f2a9c1b".repeat(5),
      repository: { full_name: "acme/gitops" },
      ...extra,
    });

  function deliver(
    event: string | undefined,
    body: string,
    signature?: string,
    contentType = "application/json",
    delivery?: string,
  ) {
    const headers: Record<string, string> = { "Content-Type": contentType };
    if (event) headers["X-GitHub-Event"] = event;
    if (delivery) headers["X-GitHub-Delivery"] = delivery;
    if (signature !== undefined) headers["X-Hub-Signature-256"] = signature;
    return app.request("/webhooks/github", { method: "POST", headers, body });
  }

  it("a push to the watched branch triggers exactly one reconcile, without waiting", async () => {
    const body = push("refs/heads/main");
    const res = await deliver("push", body, signGitHubPayload(SECRET, body));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true, reconcile: `github push ${"3f2a9c1b".repeat(5)}` });
    expect(control.calls).toEqual([
      { method: "requestReconcile", reason: `github push ${"3f2a9c1b".repeat(5)}` },
    ]);
  });

  it("ignores a replayed delivery (same X-GitHub-Delivery): 200, said so, no second reconcile", async () => {
    const body = push("refs/heads/main");
    const signature = signGitHubPayload(SECRET, body);
    const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    expect((await deliver("push", body, signature, "application/json", id)).status).toBe(202);
    const replay = await deliver("push", body, signature, "application/json", id);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replay: true, ignored: `delivery ${id} was already received` });
    expect(control.calls).toHaveLength(1);

    // A new delivery of the same push (GitHub retries with a new id only when asked to) still counts.
    expect((await deliver("push", body, signature, "application/json", `${id}-2`)).status).toBe(202);
    expect(control.calls).toHaveLength(2);
    // An unsigned request does not burn a delivery id for the real one.
    expect(
      (await deliver("push", body, signGitHubPayload("x", body), "application/json", "fresh")).status,
    ).toBe(401);
    expect((await deliver("push", body, signature, "application/json", "fresh")).status).toBe(202);
    expect(control.calls).toHaveLength(3);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('fleetwave_webhook_deliveries_total{outcome="replay"} 1');
  });

  it("refuses an unsigned delivery and an oversized one before reading the body", async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulled += 1;
            controller.enqueue(new Uint8Array(64 * 1024));
          },
        },
        // Nothing is pulled until someone reads.
        { highWaterMark: 0 },
      );
    const unsigned = await app.request("/webhooks/github", {
      method: "POST",
      headers: { "X-GitHub-Event": "push" },
      body: endless(),
      duplex: "half",
    } as RequestInit);
    expect(unsigned.status).toBe(401);
    expect(pulled).toBe(0);

    const declaredTooLarge = await app.request("/webhooks/github", {
      method: "POST",
      headers: {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signGitHubPayload(SECRET, ""),
        "Content-Length": String(WEBHOOK_BODY_LIMIT_BYTES + 1),
      },
      body: endless(),
      duplex: "half",
    } as RequestInit);
    expect(declaredTooLarge.status).toBe(413);
    expect(pulled).toBe(0);
    expect(control.calls).toEqual([]);
  });

  it("accepts the form-encoded content type too", async () => {
    const body = `payload=${encodeURIComponent(push("refs/heads/main"))}`;
    const res = await deliver(
      "push",
      body,
      signGitHubPayload(SECRET, body),
      "application/x-www-form-urlencoded",
    );
    expect(res.status).toBe(202);
    expect(control.calls).toHaveLength(1);
  });

  it("rejects a missing, malformed or wrong signature with 401", async () => {
    const body = push("refs/heads/main");
    expect((await deliver("push", body)).status).toBe(401);
    expect((await deliver("push", body, "sha256=zz")).status).toBe(401);
    expect((await deliver("push", body, signGitHubPayload("other-secret", body))).status).toBe(401);
    // Signed over a different body: the raw bytes matter, not the parsed JSON.
    expect((await deliver("push", body, signGitHubPayload(SECRET, `${body} `))).status).toBe(401);
    expect(control.calls).toEqual([]);
  });

  it("answers ping with pong", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const res = await deliver("ping", body, signGitHubPayload(SECRET, body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ pong: true, host: "host-a" });
    expect(control.calls).toEqual([]);
  });

  it("ignores other branches, tags, deletions and other events", async () => {
    for (const [event, body] of [
      ["push", push("refs/heads/feature")],
      ["push", push("refs/tags/v1.0.0")],
      ["push", push("refs/heads/main", { deleted: true })],
      ["pull_request", JSON.stringify({ action: "opened" })],
    ] as const) {
      const res = await deliver(event, body, signGitHubPayload(SECRET, body));
      expect(res.status).toBe(202);
      expect(((await res.json()) as { ignored: string }).ignored).toBeTruthy();
    }
    expect(control.calls).toEqual([]);
  });

  it("rejects a signed but invalid push payload with 400", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: "not-a-sha" });
    const res = await deliver("push", body, signGitHubPayload(SECRET, body));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe("payload.after");
    const garbage = "{not json";
    expect((await deliver("push", garbage, signGitHubPayload(SECRET, garbage))).status).toBe(400);
    expect((await deliver(undefined, "{}", signGitHubPayload(SECRET, "{}"))).status).toBe(400);
    expect(control.calls).toEqual([]);
  });

  it("without a configured secret, webhooks are refused with 503 and a clear message", async () => {
    const noSecret = createApp(control, { tokens: [] });
    const body = push("refs/heads/main");
    const res = await noSecret.request("/webhooks/github", {
      method: "POST",
      headers: { "X-GitHub-Event": "push", "X-Hub-Signature-256": signGitHubPayload("", body) },
      body,
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/FLEETWAVE_WEBHOOK_SECRET/);
    expect(control.calls).toEqual([]);
  });
});

describe("GET /metrics", () => {
  it("serves the agent's metrics, the HTTP counters and the status gauges together", async () => {
    control.agentMetrics.recordReconcile(true, 2.5);
    control.agentMetrics.pushQueueLength = 2;
    await app.request("/api/status");
    await post("/api/pause");
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    const values = new Map(
      text
        .trimEnd()
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .map((l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.slice(l.lastIndexOf(" ") + 1))]),
    );
    expect(values.get('fleetwave_reconciles_total{outcome="ok"}')).toBe(1);
    expect(values.get("fleetwave_reconcile_duration_seconds_sum")).toBe(2.5);
    expect(values.get('fleetwave_bots{state="running"}')).toBe(3);
    expect(values.get("fleetwave_bots_update_available")).toBe(1);
    expect(values.get("fleetwave_push_queue_length")).toBe(2);
    expect(values.get("fleetwave_fleet_paused")).toBe(0);
    expect(values.get("fleetwave_last_reconcile_timestamp_seconds")).toBe(
      Date.parse("2026-11-27T06:30:05Z") / 1000,
    );
    expect(values.get('fleetwave_http_requests_total{method="GET",route="/api/status",status="200"}')).toBe(
      1,
    );
    expect(values.get('fleetwave_http_requests_total{method="POST",route="/api/pause",status="401"}')).toBe(
      1,
    );
  });
});

describe("GET / (dashboard)", () => {
  it("is HTML with a strict CSP and the bots, escaped", async () => {
    control.state.bots[0]!.last!.reason = `<img src=x onerror="alert(1)">`;
    control.state.lastError = {
      source: "fleet-state",
      message: "<script>alert(2)</script>",
      at: "2026-11-27T06:00:00Z",
    };
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain("acme-main");
    expect(html).toContain("Update now");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).not.toContain("<script>alert(2)");
    expect(html).toContain("&lt;script&gt;alert(2)&lt;/script&gt;");
  });
});

describe("GET /dashboard/live", () => {
  it("is the page's live part as an HTML fragment, escaped, never cached, and current", async () => {
    const page = await (await app.request("/")).text();
    const res = await app.request("/dashboard/live");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    const fragment = await res.text();
    expect(fragment).not.toMatch(/<html|<script|<head/);
    // The page embeds exactly this fragment: one renderer for both.
    expect(page).toContain(`<div id="live">${fragment}</div>`);

    control.state.paused = true;
    control.state.bots[1]!.tenant = `<b onmouseover="x">`;
    const next = await (await app.request("/dashboard/live")).text();
    expect(next).toContain('data-action="fleet-resume"');
    expect(next).toContain("&lt;b onmouseover=&quot;x&quot;&gt;");
    expect(next).not.toContain("<b onmouseover");
  });
});

describe("token roles", () => {
  const READ = "prom-read-token-0123456789";
  const GAMMA = "gamma-portal-token-0123456789";
  let scoped: FleetwaveApp;

  beforeEach(() => {
    scoped = createApp(control, {
      tokens: parseApiTokens(`alice:${ALICE},prom/read:${READ},portal/tenant=gamma:${GAMMA}`),
      log: () => {},
    });
  });

  const get = (path: string, token?: string) =>
    scoped.request(path, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const postAs = (path: string, token: string) =>
    scoped.request(path, { method: "POST", headers: { Authorization: `Bearer ${token}` } });

  it("a read token reads everything, /metrics included, and may not act", async () => {
    for (const path of [
      "/",
      "/dashboard/live",
      "/api/status",
      "/api/rollouts",
      `/api/rollouts/${ROLLOUT_ID}`,
      "/metrics",
    ])
      expect((await get(path, READ)).status, path).toBe(200);
    for (const path of [
      "/api/bots/gamma-1/update",
      "/api/bots/gamma-1/rollback",
      "/api/pause",
      `/api/rollouts/${ROLLOUT_ID}/abort`,
      "/api/reconcile",
    ]) {
      const res = await postAs(path, READ);
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/may only read/);
    }
    expect(control.calls).toEqual([]);
  });

  it("a tenant token sees its own bots only and may update them, and nothing else", async () => {
    const status = (await (await get("/api/status", GAMMA)).json()) as {
      bots: { id: string }[];
      rollouts: unknown[];
    };
    expect(status.bots.map((b) => b.id)).toEqual(["gamma-1"]);
    expect(status.rollouts).toEqual([]);
    expect(status).not.toHaveProperty("lastError");
    for (const path of [
      "/",
      "/dashboard/live",
      "/api/rollouts",
      `/api/rollouts/${ROLLOUT_ID}`,
      "/metrics",
      "/api/status?scope=fleet",
    ])
      expect((await get(path, GAMMA)).status, path).toBe(403);
    // Another tenant's bot and a bot that does not exist get the same answer.
    for (const bot of ["acme-main", "no-such-bot"]) {
      const res = await postAs(`/api/bots/${bot}/update`, GAMMA);
      expect(res.status, bot).toBe(403);
      expect(await res.json()).toEqual({ error: "this token may only update the bots of tenant gamma" });
    }
    // Rolling back is the operator's, even for the tenant's own bot.
    for (const path of [
      "/api/pause",
      "/api/resume",
      `/api/rollouts/${ROLLOUT_ID}/pause`,
      "/api/reconcile",
      "/api/bots/gamma-1/rollback",
    ])
      expect((await postAs(path, GAMMA)).status, path).toBe(403);
    expect(control.calls).toEqual([]);

    const own = await postAs("/api/bots/gamma-1/update", GAMMA);
    expect(own.status).toBe(200);
    expect(control.calls).toEqual([{ method: "updateBotNow", botId: "gamma-1", actor: "portal" }]);
    expect(await (await get("/api/whoami", GAMMA)).json()).toEqual({ actor: "portal" });
  });

  it("beyond loopback every route needs a token, /metrics a read one, and any Host is accepted", async () => {
    const remote = createApp(control, {
      tokens: parseApiTokens(`alice:${ALICE},prom/read:${READ},portal/tenant=gamma:${GAMMA}`),
      remote: true,
      log: () => {},
    });
    const at = (path: string, token?: string) =>
      remote.request(
        `http://fleet.example${path}`,
        token ? { headers: { Authorization: `Bearer ${token}` } } : {},
      );
    for (const path of ["/", "/dashboard/live", "/healthz", "/api/status", "/api/rollouts", "/metrics"]) {
      const res = await at(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await at("/metrics", READ)).status).toBe(200);
    expect((await at("/metrics", GAMMA)).status).toBe(403);
    expect((await at("/healthz", GAMMA)).status).toBe(200);
    expect((await at("/", ALICE)).status).toBe(200);
  });
});
