/**
 * What the README promises about the agent and had no test against the real one: rollout pause
 * and abort through the API, "Update now" refused while paused, a newer plan superseding an older
 * one's remaining targets and offers, orphans and adopted containers left alone, acting on the
 * last valid commit across a restart, and `agent --once` exiting 1 after a failed update.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import { spawnAgent } from "../faults/support/agent-process.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  fleetRepo,
  fleetYaml,
  git,
  openHour,
  type RunningAgent,
  remoteFile,
  startAgent,
  TOKEN_HEADER,
  tenantYaml,
} from "../support/agent-harness.ts";
import { removeContainersByLabel } from "../support/docker.ts";

const docker = new DockerAdapter(dockerFromEnv());
let repository: string;
let v1: TestImage;
let v2: TestImage;
let v3: TestImage;
const agents: RunningAgent[] = [];

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-promises/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  v3 = await buildTestImage({ version: "3.0.0", repository });
});

afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
  await removeContainersByLabel("fleetwave.managed=true");
});

const digestOf = async (bot: string) => {
  const info = await docker.inspect(bot);
  return info?.State.Running ? containerDigest(info) : undefined;
};
const post = (a: RunningAgent, path: string) =>
  fetch(`${a.server.url}${path}`, { method: "POST", headers: TOKEN_HEADER });

/** An agent whose clock the test moves past wave pauses instead of sleeping through them. */
async function agentWithClock(bare: string) {
  let ahead = 0;
  const a = await startAgent(bare, "host-a", {}, undefined, {
    now: () => new Date(Date.now() + ahead),
  });
  agents.push(a);
  return { a, advance: (ms: number) => (ahead += ms) };
}

describe("rollout control through the API, against the real agent", () => {
  it("pauses a rollout, refuses Update now while paused, and aborts it; nothing moves after", async () => {
    const auto = await bots("ctl-auto", "host-a", 3);
    const [manual] = await bots("ctl-manual", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        { tenant: "ctl-auto", mode: "auto", hour: openHour(), contacts: [], bots: auto },
        { tenant: "ctl-manual", mode: "manual", hour: openHour(), contacts: [], bots: [manual!] },
      ],
      strategy: { batchPercent: 25, pauseSeconds: 600 },
    };
    const repo = await fleetRepo(decl);
    const { a, advance } = await agentWithClock(repo.bare);
    await a.agent.reconcile("create");
    const id = await repo.plan(decl.image, v2.digest);
    await a.agent.reconcile("wave 1");
    const updated = async () =>
      (await Promise.all(auto.map((b) => digestOf(b.id)))).filter((d) => d === v2.digest).length;
    expect(await updated()).toBe(1);

    // A fleet-wide pause refuses "Update now" even for a rollout that runs. (Before the clock
    // moves: once wave 2 is due, a running rollout may start it at any reconcile, and each API
    // action asks for one.)
    expect((await post(a, "/api/pause")).status).toBe(200);
    expect((await post(a, `/api/bots/${manual!.id}/update`)).status).toBe(423);
    expect(await digestOf(manual!.id)).toBe(v1.digest);
    expect((await post(a, "/api/resume")).status).toBe(200);

    const control = async () =>
      (parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as { control: unknown }).control;
    expect((await post(a, `/api/rollouts/${id}/pause`)).status).toBe(200);
    expect(await control()).toMatchObject({ state: "paused", by: "alice" });

    // Paused: neither the next wave nor "Update now" starts anything.
    advance(700_000);
    await a.agent.reconcile("paused");
    expect(await updated()).toBe(1);
    const refused = await post(a, `/api/bots/${manual!.id}/update`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toMatch(/paused/);
    expect(await digestOf(manual!.id)).toBe(v1.digest);

    expect((await post(a, `/api/rollouts/${id}/abort`)).status).toBe(200);
    expect(await control()).toMatchObject({ state: "aborted", by: "alice" });
    advance(700_000);
    await a.agent.reconcile("aborted");
    expect(await updated()).toBe(1);
    expect((await post(a, `/api/bots/${manual!.id}/update`)).status).toBe(409);
    expect(a.agent.rollout(id)?.progress?.state).toBe("aborted");
  });
});

describe("a newer plan of the same image", () => {
  it("supersedes the older plan's remaining targets and withdraws its offers", async () => {
    const [auto] = await bots("sup-auto", "host-a", 1);
    const [manual] = await bots("sup-manual", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        { tenant: "sup-auto", mode: "auto", hour: openHour(), contacts: [], bots: [auto!] },
        { tenant: "sup-manual", mode: "manual", hour: openHour(), contacts: [], bots: [manual!] },
      ],
    };
    const repo = await fleetRepo(decl);
    const { a } = await agentWithClock(repo.bare);
    await a.agent.reconcile("create");
    const older = await repo.plan(decl.image, v2.digest);
    await a.agent.reconcile("older");
    const offered = () => a.agent.status().bots.find((b) => b.id === manual!.id)?.updateAvailable;
    expect(offered()).toEqual({ rollout: older, digest: v2.digest });

    const newer = await repo.plan(decl.image, v3.digest);
    await a.agent.reconcile("newer");
    expect(await digestOf(auto!.id)).toBe(v3.digest);
    expect(offered()).toEqual({ rollout: newer, digest: v3.digest });
    const old = a.agent.rollout(older);
    expect(old?.progress?.state).toBe("completed");
    expect(old?.progress?.bots[manual!.id]).toMatchObject({
      result: "skipped",
      reason: `superseded by rollout ${newer}`,
    });

    // "Update now" installs the newer digest, never the withdrawn one.
    expect((await post(a, `/api/bots/${manual!.id}/update`)).status).toBe(202);
    await eventually(
      async () => ((await digestOf(manual!.id)) === v3.digest ? true : undefined),
      60_000,
      "the update now",
    );
  });
});

describe("containers the agent did not make, and commits it cannot use", () => {
  it("adopts running bots, leaves an orphan running, and acts on the last valid commit after a restart", async () => {
    const [adopted, orphan] = await bots("own", "host-a", 2);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "own", mode: "auto", hour: openHour(), contacts: [], bots: [adopted!, orphan!] }],
    };
    const repo = await fleetRepo(decl);
    // Another agent made both bots, then went away with its data dir (a reinstalled host).
    const before = await startAgent(repo.bare, "host-a");
    await before.agent.reconcile("create both");
    await before.stop();
    const ids = new Map<string, string>();
    for (const b of [adopted!, orphan!]) ids.set(b.id, (await docker.inspect(b.id))!.Id);

    // The orphan is no longer declared.
    const kept: FleetDecl = { ...decl, tenants: [{ ...decl.tenants[0]!, bots: [adopted!] }] };
    await repo.commit({ "fleet-state/tenants/own.yaml": tenantYaml(kept, kept.tenants[0]!) }, "drop a bot");

    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-own-"));
    const fresh = await startAgent(repo.bare, "host-a", {}, dataDir);
    agents.push(fresh);
    await fresh.agent.reconcile("adopt");
    expect((await docker.inspect(adopted!.id))?.Id).toBe(ids.get(adopted!.id));
    expect(fresh.agent.status().bots.find((b) => b.id === adopted!.id)).toMatchObject({
      digest: v1.digest,
      state: "running",
    });
    expect((await docker.inspect(orphan!.id))?.Id).toBe(ids.get(orphan!.id));
    expect((await docker.inspect(orphan!.id))?.State.Running).toBe(true);
    expect(fresh.agent.status().bots.map((b) => b.id)).not.toContain(orphan!.id);
    // Reported once, in the audit log (whichever ref the status commits go to).
    expect(await git(repo.bare, "log", "--all", "--format=%B")).toMatch(
      new RegExp(`orphan: container ${orphan!.id} .*left running`),
    );
    const actedOn = fresh.agent.status().observedCommit;
    await fresh.stop();
    agents.pop();

    await repo.commit(
      { "fleet-state/fleet.yaml": fleetYaml(kept).replace("mode: auto", "mode: sometimes") },
      "a typo",
    );
    // Restarted on an invalid head: it rebuilds the last valid state from its data dir and acts
    // on it (heals the bot stopped meanwhile); the orphan is still left alone.
    await docker.docker.getContainer(adopted!.id).stop({ t: 1 });
    const restarted = await startAgent(repo.bare, "host-a", {}, dataDir);
    agents.push(restarted);
    await restarted.agent.reconcile("invalid head");
    expect(restarted.agent.status().observedCommit).toBe(actedOn);
    expect(restarted.agent.status().lastError?.source).toBe("fleet-state");
    expect(await digestOf(adopted!.id)).toBe(v1.digest);
    expect((await docker.inspect(orphan!.id))?.State.Running).toBe(true);
  });
});

describe("agent --once", () => {
  it("exits 1 after a failed update, and says which bot", async () => {
    const unhealthy = await buildTestImage({ version: "9.0.0", behaviour: "unhealthy", repository });
    const [bot] = await bots("once", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "once", mode: "auto", hour: openHour(), contacts: [], bots: [bot!] }],
      strategy: { healthCheckTimeoutSeconds: 2, minHealthySeconds: 1 },
    };
    const repo = await fleetRepo(decl);
    const dataDir = await mkdtemp(join(tmpdir(), "fleetwave-once-"));
    const create = spawnAgent({ repo: repo.bare, host: "host-a", dataDir });
    expect((await create.exited).code, create.output()).toBe(0);
    await repo.plan(decl.image, unhealthy.digest);
    const run = spawnAgent({ repo: repo.bare, host: "host-a", dataDir });
    const { code } = await run.exited;
    expect(code, run.output()).toBe(1);
    expect(run.output()).toContain(bot!.id);
    expect(await digestOf(bot!.id)).toBe(v1.digest);
  });
});
