import { once } from "node:events";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../errors.ts";
import { createApp } from "./app.ts";
import { fakeControl } from "./fake-control.ts";
import { isLoopbackAddress, ListenError, lateApp, parseListen, type ServerHandle, serve } from "./serve.ts";
import { parseApiTokens } from "./tokens.ts";
import { signGitHubPayload } from "./webhook.ts";

describe("parseListen", () => {
  it("parses loopback addresses", () => {
    expect(parseListen("127.0.0.1:8787")).toEqual({ host: "127.0.0.1", port: 8787 });
    expect(parseListen("127.1.2.3:0")).toEqual({ host: "127.1.2.3", port: 0 });
    expect(parseListen("localhost:9000")).toEqual({ host: "localhost", port: 9000 });
    expect(parseListen("[::1]:8787")).toEqual({ host: "::1", port: 8787 });
  });

  it("rejects remote addresses unless allowed explicitly", () => {
    expect(() => parseListen("0.0.0.0:8787")).toThrow(/0\.0\.0\.0 is not a loopback address/);
    expect(() => parseListen("[::]:8787")).toThrow(UsageError);
    expect(() => parseListen("10.0.0.5:8787")).toThrow(UsageError);
    expect(() => parseListen("agent.example:8787")).toThrow(/not a loopback/);
    expect(parseListen("0.0.0.0:8787", { allowRemote: true })).toEqual({ host: "0.0.0.0", port: 8787 });
    expect(parseListen("[::]:8787", { allowRemote: true })).toEqual({ host: "::", port: 8787 });
  });

  it("rejects malformed values with the flag name", () => {
    for (const value of [
      "8787",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:99999",
      "::1:8787",
      "[nope]:1",
      "a b:1",
      "",
    ]) {
      expect(() => parseListen(value), value).toThrow(/^--listen: /);
    }
    expect(() => parseListen("x", { flag: "FLEETWAVE_LISTEN" })).toThrow(
      /^FLEETWAVE_LISTEN: expected host:port/,
    );
  });

  it("knows loopback", () => {
    expect(isLoopbackAddress("127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("127.255.0.9")).toBe(true);
    expect(isLoopbackAddress("::1")).toBe(true);
    expect(isLoopbackAddress("128.0.0.1")).toBe(false);
    expect(isLoopbackAddress("127.example.com")).toBe(false);
  });
});

describe("serve (a real listening server on 127.0.0.1)", () => {
  let server: ServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("answers over HTTP, authenticates, receives a signed webhook, and closes", async () => {
    const control = fakeControl();
    const token = "real-server-token-0123";
    const app = createApp(control, { tokens: parseApiTokens(`carol:${token}`), webhookSecret: "s3cret" });
    server = await serve(app, { listen: "127.0.0.1:0" });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.address.port).toBeGreaterThan(0);

    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toEqual({ status: "ok", host: "host-a" });

    const denied = await fetch(`${server.url}/api/pause`, { method: "POST" });
    expect(denied.status).toBe(401);
    const paused = await fetch(`${server.url}/api/pause`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "maintenance" }),
    });
    expect(paused.status).toBe(200);

    const body = JSON.stringify({ ref: "refs/heads/main", after: "ab".repeat(20) });
    const hook = await fetch(`${server.url}/webhooks/github`, {
      method: "POST",
      headers: { "X-GitHub-Event": "push", "X-Hub-Signature-256": signGitHubPayload("s3cret", body) },
      body,
    });
    expect(hook.status).toBe(202);
    expect(control.calls).toEqual([
      { method: "setFleetPaused", paused: true, actor: "carol", reason: "maintenance" },
      { method: "requestReconcile", reason: `github push ${"ab".repeat(20)}` },
    ]);

    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);

    const url = server.url;
    await server.close();
    server = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("refuses unsigned and oversized webhooks over real HTTP without waiting for their bodies", async () => {
    const control = fakeControl();
    const limit = 256 * 1024;
    const app = createApp(control, { tokens: [], webhookSecret: "s3cret", webhookBodyLimitBytes: limit });
    server = await serve(app, { listen: "127.0.0.1:0" });
    const hook = `${server.url}/webhooks/github`;
    const signed = { "X-GitHub-Event": "push", "X-Hub-Signature-256": signGitHubPayload("s3cret", "{}") };

    // 100 MB announced, 1 MB sent, the rest never: only an early answer can end this.
    const unsigned = await postPartly(
      hook,
      { "X-GitHub-Event": "push", "Content-Length": "100000000" },
      1 << 20,
    );
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatch(/missing or malformed X-Hub-Signature-256/);

    const announced = await postPartly(hook, { ...signed, "Content-Length": String(limit + 1) }, 0);
    expect(announced.status).toBe(413);

    // Chunked, without a length, and endless: refused once the limit is crossed.
    const endless = await postPartly(hook, { ...signed, "Transfer-Encoding": "chunked" }, Infinity);
    expect(endless.status).toBe(413);
    expect(endless.body).toMatch(/larger than 262144 bytes/);
    expect(control.calls).toEqual([]);

    // The server still serves a good delivery afterwards.
    const body = JSON.stringify({ ref: "refs/heads/main", after: "cd".repeat(20) });
    const good = await fetch(hook, {
      method: "POST",
      headers: { "X-GitHub-Event": "push", "X-Hub-Signature-256": signGitHubPayload("s3cret", body) },
      body,
    });
    expect(good.status).toBe(202);
  });

  it("answers 503 until the agent is attached, then serves it", async () => {
    const front = lateApp();
    server = await serve(front, { listen: "127.0.0.1:0" });
    const starting = await fetch(`${server.url}/api/status`);
    expect(starting.status).toBe(503);
    expect(starting.headers.get("retry-after")).toBe("5");
    expect(((await starting.json()) as { error: string }).error).toMatch(/the agent is starting/);
    front.use(createApp(fakeControl(), { tokens: [] }));
    expect((await fetch(`${server.url}/api/status`)).status).toBe(200);
  });

  it("refuses a non-loopback listen address before binding, and reports a busy port", async () => {
    const app = createApp(fakeControl(), { tokens: [] });
    await expect(serve(app, { listen: "0.0.0.0:0" })).rejects.toThrow(/not a loopback address/);
    server = await serve(app, { listen: "127.0.0.1:0" });
    const taken = serve(app, { listen: server.address });
    await expect(taken).rejects.toThrow(ListenError);
    await expect(taken).rejects.toThrow(
      `cannot listen on 127.0.0.1:${server.address.port}: the address is already in use`,
    );
  });
});

/**
 * POSTs with node:http, writing up to `bytes` of body (respecting backpressure) and never ending
 * the request on its own: it resolves only when the server answers before the body is complete.
 */
async function postPartly(
  url: string,
  headers: Record<string, string>,
  bytes: number,
): Promise<{ status: number; body: string }> {
  const req = request(url, { method: "POST", headers });
  let answered = false;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
  });
  req.flushHeaders();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  for (let sent = 0; !answered && sent < bytes; sent += chunk.length) {
    if (!req.write(chunk)) await Promise.race([once(req, "drain"), response]);
  }
  try {
    return await response;
  } finally {
    req.destroy();
  }
}
