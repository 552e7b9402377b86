import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatAuditCommit } from "../audit/commit-message.ts";
import { git } from "../git/git.ts";
import { HostHeldError, Workspace } from "./workspace.ts";

const OPERATOR = [
  "-c",
  "user.name=Operator",
  "-c",
  "user.email=ops@acme.example",
  "-c",
  "commit.gpgsign=false",
];
const HOST = "host-a";
const statusPath = `fleet-state/status/${HOST}.yaml`;

async function operatorCommit(work: string, path: string, text: string, message: string): Promise<string> {
  await mkdir(join(work, path, ".."), { recursive: true });
  await writeFile(join(work, path), text);
  await git(["add", "--", path], { cwd: work });
  await git([...OPERATOR, "commit", "-q", "-m", message], { cwd: work });
  return (await git(["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
}

/** An empty bare remote and an operator's clone of it, on main. */
async function emptyRemote() {
  const root = await mkdtemp(join(tmpdir(), "fleetwave-ws-"));
  const bare = join(root, "fleet.git");
  const work = join(root, "operator");
  await git(["init", "-q", "--bare", "--initial-branch=main", bare], { cwd: root });
  await git(["clone", "-q", bare, work], { cwd: root });
  await git(["checkout", "-q", "-B", "main"], { cwd: work });
  return { root, bare, work };
}

/** A bare remote with fleet-state, an operator's clone, and the agent's workspace opened on it. */
async function setup(guard?: Workspace["guard"]) {
  const { root, bare, work } = await emptyRemote();
  await operatorCommit(work, "fleet-state/fleet.yaml", "updates: {}\n", "initial");
  await git(["push", "-q", "origin", "main"], { cwd: work });
  const logs: string[] = [];
  const ws = new Workspace({
    repo: bare,
    branch: "main",
    dir: join(root, "agent", "repo"),
    identity: { name: "Fleetwave Agent (host-a)", email: "fleetwave-agent@host-a.invalid" },
    host: HOST,
    log: (line) => logs.push(line),
    networkTimeoutMs: 3000,
  });
  if (guard) ws.guard = guard;
  await ws.open();
  const remoteLog = async () =>
    (await git(["log", "--format=%H %ae %s", "main"], { cwd: bare })).stdout.trim().split("\n");
  const statusCommit = (n: number) =>
    ws.commit(
      { [statusPath]: `host: ${HOST}\nround: ${n}\n` },
      formatAuditCommit({ host: HOST, subject: `reconcile ${n}`, records: [], notes: [`round ${n}`] }),
    );
  return { root, bare, work, ws, logs, remoteLog, statusCommit };
}

function agentFor(root: string, bare: string, host: string): Workspace {
  return new Workspace({
    repo: bare,
    branch: "main",
    dir: join(root, host, "repo"),
    identity: { name: `Fleetwave Agent (${host})`, email: `fleetwave-agent@${host}.invalid` },
    host,
    log: () => undefined,
    networkTimeoutMs: 3000,
  });
}

const statusMessage = (host: string, n: number) =>
  formatAuditCommit({ host, subject: `status ${n}`, records: [], notes: [] });
const refLog = async (bare: string, host: string) =>
  (await git(["log", "--format=%s", `refs/heads/fleetwave/status/${host}`], { cwd: bare })).stdout
    .trim()
    .split("\n");

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("Workspace", { timeout: 60_000 }, () => {
  it("never pushes back a commit an operator force-pushed away, and still lands its own queued commits", async () => {
    const { bare, work, ws, logs, remoteLog, statusCommit } = await setup();
    const secret = await operatorCommit(work, "fleet-state/leak.txt", "password=hunter2\n", "oops: a secret");
    await git(["push", "-q", "origin", "main"], { cwd: work });
    expect(await ws.sync()).toEqual({ ok: true });
    expect(await statusCommit(1)).toBe(true);
    expect((await ws.push()).ok).toBe(true);

    // The remote goes away; the agent keeps committing locally.
    await git(["remote", "set-url", "origin", join(bare, "..", "nowhere.git")], { cwd: ws.o.dir });
    expect((await ws.sync()).ok).toBe(false);
    expect(await statusCommit(2)).toBe(true);
    expect((await ws.push()).ok).toBe(false);
    expect(await ws.unpushed()).toBe(1);

    // Meanwhile the operator removes the secret from history.
    await git(["reset", "-q", "--hard", `${secret}~1`], { cwd: work });
    await operatorCommit(work, "fleet-state/fleet.yaml", "updates: {mode: auto}\n", "after the cleanup");
    await git(["push", "-q", "--force", "origin", "main"], { cwd: work });
    await git(["remote", "set-url", "origin", bare], { cwd: ws.o.dir });

    expect(await ws.sync()).toEqual({ ok: true });
    expect((await ws.push()).ok).toBe(true);
    const log = await remoteLog();
    expect(log.some((l) => l.startsWith(secret))).toBe(false);
    expect((await git(["log", "--format=%s", "main"], { cwd: bare })).stdout).not.toContain("secret");
    expect((await git(["show", `main:${statusPath}`], { cwd: bare })).stdout).toContain("round: 2");
    // Its first status commit was removed with the secret (it sat on top of it): it is not replayed either.
    expect(log.filter((l) => l.includes("reconcile")).map((l) => l.split(" ").slice(2).join(" "))).toEqual([
      "fleetwave(host-a): reconcile 2",
    ]);
    expect(logs.some((l) => /rewritten \(force-push\)/.test(l))).toBe(true);
    expect(await ws.unpushed()).toBe(0);
  });

  it("clones a remote given as a path partially, with fleet-state/ alone checked out", async () => {
    const { root, bare, work } = await emptyRemote();
    await operatorCommit(work, "app/server.ts", "export const app = 1;\n", "the app");
    await operatorCommit(work, "fleet-state/fleet.yaml", "updates: {}\n", "fleet state");
    await git(["push", "-q", "origin", "main"], { cwd: work });
    // What a self-hosted remote needs for partial clones (hosted forges allow them already).
    await git(["config", "uploadpack.allowFilter", "true"], { cwd: bare });
    const ws = agentFor(root, bare, HOST);
    await ws.open();
    const clone = { cwd: ws.o.dir };
    expect((await git(["config", "remote.origin.url"], clone)).stdout.trim()).toBe(`file://${bare}`);
    expect((await git(["config", "remote.origin.promisor"], clone)).stdout.trim()).toBe("true");
    expect(await readFile(join(ws.o.dir, "fleet-state/fleet.yaml"), "utf8")).toBe("updates: {}\n");
    await expect(readFile(join(ws.o.dir, "app/server.ts"))).rejects.toThrow(/ENOENT/);
    // The app's blob stayed on the remote: git lists it as missing instead of fetching it.
    const missing = await git(["rev-list", "--objects", "--missing=print", "HEAD"], clone);
    expect(missing.stdout.split("\n").filter((line) => line.startsWith("?"))).toHaveLength(1);
    await rm(root, { recursive: true, force: true });
  });

  it("drops and logs a local commit it did not write instead of pushing it", async () => {
    const { ws, logs, remoteLog, statusCommit } = await setup();
    await operatorCommit(
      ws.o.dir,
      "fleet-state/hand-edit.txt",
      "by hand\n",
      "a hand edit in the agent's clone",
    );
    expect(await statusCommit(1)).toBe(true);
    expect((await ws.push()).ok).toBe(true);
    const log = await remoteLog();
    expect(log.some((l) => l.includes("hand edit"))).toBe(false);
    expect(log.some((l) => l.includes("reconcile 1"))).toBe(true);
    expect(logs.some((l) => /dropping local commit \w+ "a hand edit/.test(l))).toBe(true);
  });

  it("an agent killed in the middle of a git command: the reopened clone clears its locks and its half-done rebase, then commits, replays and pushes", async () => {
    const { work, ws, remoteLog } = await setup();
    const control = (n: number) =>
      ws.commit(
        { "fleet-state/control.yaml": `round: ${n}\n` },
        formatAuditCommit({ host: HOST, subject: `control ${n}`, records: [], notes: [] }),
      );
    expect(await control(1)).toBe(true);
    expect(await control(2)).toBe(true);
    // A replay stopped half way (as when the agent died during it), then the locks of a commit.
    await git(["rebase", "--quiet", "--interactive", "HEAD~1"], {
      cwd: ws.o.dir,
      env: { GIT_SEQUENCE_EDITOR: "sed -i '1i break'" },
    });
    const gitDir = join(ws.o.dir, ".git");
    for (const lock of ["index.lock", "HEAD.lock", "refs/heads/main.lock"])
      await writeFile(join(gitDir, lock), "");
    await operatorCommit(work, "fleet-state/fleet.yaml", "updates: {mode: manual}\n", "operator change");
    await git(["push", "-q", "origin", "main"], { cwd: work });

    const logs: string[] = [];
    const reopened = new Workspace({ ...ws.o, log: (line) => logs.push(line) });
    await reopened.open();
    expect(logs.join("\n")).toMatch(/cleared what an interrupted git left.*index\.lock.*rebase-merge/);
    expect(await reopened.sync()).toEqual({ ok: true });
    expect(
      await reopened.commit(
        { "fleet-state/control.yaml": "round: 3\n" },
        formatAuditCommit({ host: HOST, subject: "control 3", records: [], notes: [] }),
      ),
    ).toBe(true);
    expect((await reopened.push()).ok).toBe(true);
    const subjects = (await remoteLog()).map((l) => l.split(" ").slice(2).join(" "));
    expect(subjects.slice(0, 4)).toEqual([
      expect.stringContaining("control 3"),
      expect.stringContaining("control 2"),
      expect.stringContaining("control 1"),
      "operator change",
    ]);
  });

  it("stands back while the guard says another agent holds the host: no integration, no commit, no push", async () => {
    let held: string | undefined;
    const { work, ws, remoteLog, statusCommit } = await setup(async () => held);
    expect(await statusCommit(1)).toBe(true);
    const before = await remoteLog();
    held = "host host-a is held by another fleetwave agent";
    await operatorCommit(work, "fleet-state/fleet.yaml", "updates: {mode: manual}\n", "operator change");
    await git(["push", "-q", "origin", "main"], { cwd: work });
    const head = await ws.head();
    expect(await ws.sync()).toEqual({ ok: false, error: held, held: true });
    expect(await ws.head()).toBe(head);
    await expect(statusCommit(2)).rejects.toThrow(HostHeldError);
    expect(await ws.push()).toMatchObject({ ok: false, held: true });
    expect((await remoteLog()).slice(1)).toEqual(before);
    held = undefined;
    expect(await ws.sync()).toEqual({ ok: true });
    expect((await ws.push()).ok).toBe(true);
    expect((await remoteLog()).some((l) => l.includes("reconcile 1"))).toBe(true);
  });

  it("commits status to the host's own ref, never to main: two hosts push without a rejection and read every host's status, a host still on main included", async () => {
    const { root, bare, work, ws, remoteLog } = await setup();
    await operatorCommit(work, "fleet-state/status/host-c.yaml", "host: host-c\n", "a host not moved yet");
    await git(["push", "-q", "origin", "main"], { cwd: work });
    const mainBefore = await remoteLog();
    const other = agentFor(root, bare, "host-b");
    await other.open();
    for (const [agent, host] of [
      [ws, HOST],
      [other, "host-b"],
    ] as const) {
      expect(await agent.sync()).toEqual({ ok: true });
      await agent.commitStatus(`host: ${host}\nround: 1\n`, statusMessage(host, 1));
    }
    // Both pushes land on the first try although the two hosts finished "the same wave".
    expect((await ws.push()).ok).toBe(true);
    expect((await other.push()).ok).toBe(true);
    expect([ws.pushes, other.pushes]).toEqual([
      { ok: 1, rejected: 0 },
      { ok: 1, rejected: 0 },
    ]);
    expect(await remoteLog()).toEqual(mainBefore);
    expect(await refLog(bare, "host-b")).toEqual(["fleetwave(host-b): status 1"]);
    const files = await git(["ls-tree", "-r", "--name-only", "refs/heads/fleetwave/status/host-b"], {
      cwd: bare,
    });
    expect(files.stdout.trim()).toBe("fleet-state/status/host-b.yaml");

    expect(await ws.sync()).toEqual({ ok: true });
    const refs = await ws.statusRefs();
    expect([...refs.keys()].sort()).toEqual(["host-a", "host-b"]);
    expect(refs.get("host-b")?.text).toBe("host: host-b\nround: 1\n");
    // The file of a host whose agent has not moved yet is still in the checkout of main.
    expect(await ws.read("fleet-state/status/host-c.yaml")).toBe("host: host-c\n");
    expect(await ws.unpushed()).toBe(0);
  });

  it("a tick that fetched nothing new is a fetch and one listing of the refs: no replay, no blob read again; the next change is read", async () => {
    const { root, bare, ws } = await setup();
    const other = agentFor(root, bare, "host-b");
    await other.open();
    await other.commitStatus("host: host-b\nround: 1\n", statusMessage("host-b", 1));
    expect((await other.push()).ok).toBe(true);
    await ws.commitStatus("host: host-a\nround: 1\n", statusMessage(HOST, 1));
    expect((await ws.push()).ok).toBe(true);
    expect(await ws.sync()).toEqual({ ok: true });
    const first = await ws.statusRefs();

    // Every git process the quiet tick starts, from git's own trace (the workspace passes the
    // environment on to each git it runs).
    const trace = join(root, "trace.json");
    process.env.GIT_TRACE2_EVENT = trace;
    try {
      expect(await ws.sync()).toEqual({ ok: true });
      const again = await ws.statusRefs();
      expect(again.get("host-b")).toBe(first.get("host-b"));
      expect((await ws.push()).ok).toBe(true);
      expect(await ws.unpushed()).toBe(0);
    } finally {
      delete process.env.GIT_TRACE2_EVENT;
    }
    const commands = (await readFile(trace, "utf8"))
      .split("\n")
      .filter((line) => line.includes('"event":"start"'))
      .map((line) => JSON.parse(line) as { sid: string; argv: string[] })
      // Only the processes the workspace started, not those git starts itself (the fetch's own).
      .filter((event) => !event.sid.includes("/"))
      .map((event) => event.argv.slice(1).join(" "));
    expect(
      commands.filter((c) => /^(reset|rebase|update-ref|cat-file|log|rev-list|merge-base)\b/.test(c)),
    ).toEqual([]);
    // A fetch and one listing of the refs (then HEAD): every other question of the tick is
    // answered from that listing. The same calls started 27 processes before any caching, 10 with
    // one listing per question.
    expect(commands).toEqual([
      expect.stringMatching(/^fetch /),
      "for-each-ref --format=%(objectname) %(refname) refs/",
      "rev-parse HEAD",
    ]);

    await other.commitStatus("host: host-b\nround: 2\n", statusMessage("host-b", 2));
    expect((await other.push()).ok).toBe(true);
    expect(await ws.sync()).toEqual({ ok: true });
    expect((await ws.statusRefs()).get("host-b")?.text).toBe("host: host-b\nround: 2\n");
  });

  it("one fetch moves every status ref or none: a ref it cannot write fails the sync, and the fleet reads as of the last fetch", async () => {
    const { root, bare, ws } = await setup();
    const others = ["host-b", "host-c"].map((host) => ({ host, ws: agentFor(root, bare, host) }));
    const pushRound = async (n: number) => {
      for (const o of others) {
        await o.ws.commitStatus(`host: ${o.host}\nround: ${n}\n`, statusMessage(o.host, n));
        expect((await o.ws.push()).ok).toBe(true);
      }
    };
    for (const o of others) await o.ws.open();
    await pushRound(1);
    expect(await ws.sync()).toEqual({ ok: true });
    await pushRound(2);
    // What a crashed git leaves behind, or another process writing the same ref.
    const lock = join(root, "agent", "repo", ".git", "refs", "fleetwave", "status-fetched", "host-c.lock");
    await writeFile(lock, "");
    const held = await ws.sync();
    expect(held.ok).toBe(false);
    const rounds = async () =>
      [...(await ws.statusRefs())].filter(([h]) => h !== HOST).map(([h, r]) => `${h} ${r.text.trim()}`);
    expect(await rounds()).toEqual(["host-b host: host-b\nround: 1", "host-c host: host-c\nround: 1"]);
    await rm(lock);
    expect(await ws.sync()).toEqual({ ok: true });
    expect(await rounds()).toEqual(["host-b host: host-b\nround: 2", "host-c host: host-c\nround: 2"]);
  });

  it("a rewritten status ref: unpushed status commits are replayed on it, the ones it removed stay removed", async () => {
    const { root, bare, ws, logs } = await setup();
    await ws.commitStatus("host: host-a\nsecret: hunter2\n", statusMessage(HOST, 1));
    expect((await ws.push()).ok).toBe(true);
    await ws.commitStatus("host: host-a\nround: 2\n", statusMessage(HOST, 2));

    // The operator replaces the ref by a scrubbed root commit.
    const operator = agentFor(root, bare, "scrub");
    await operator.open();
    await operator.status.commit("host: host-a\n", "scrubbed", {
      name: "Operator",
      email: "ops@acme.example",
    });
    const scrubbed = (await git(["rev-parse", operator.status.local], { cwd: operator.o.dir })).stdout.trim();
    await git(["push", "-q", "--force", "origin", `${scrubbed}:refs/heads/fleetwave/status/${HOST}`], {
      cwd: operator.o.dir,
    });

    expect((await ws.push()).ok).toBe(true);
    expect(ws.pushes).toEqual({ ok: 2, rejected: 1 });
    expect(await refLog(bare, HOST)).toEqual(["fleetwave(host-a): status 2", "scrubbed"]);
    expect(logs.some((l) => /status\/host-a was rewritten \(force-push\)/.test(l))).toBe(true);
    expect(await ws.sync()).toEqual({ ok: true });
    expect((await ws.statusRefs()).get(HOST)?.text).toBe("host: host-a\nround: 2\n");
  });

  it("gives up on a remote that never answers after its timeout and keeps committing locally", async () => {
    const { ws, statusCommit } = await setup();
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    const port = (silent.address() as { port: number }).port;
    await git(["remote", "set-url", "origin", `git://127.0.0.1:${port}/fleet.git`], { cwd: ws.o.dir });
    const synced = await ws.sync();
    expect(synced).toMatchObject({ ok: false });
    expect(synced.ok ? "" : synced.error).toMatch(/timed out after 3 s/);
    expect(await statusCommit(1)).toBe(true);
    const pushed = await ws.push();
    expect(pushed.ok ? "" : pushed.error).toMatch(/timed out/);
    expect(await ws.unpushed()).toBe(1);
  });
});
