import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ReconcileSchedule } from "#fleetwave/agent/reconcile-schedule.ts";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  bots,
  closedHour,
  eventually,
  type FleetDecl,
  fleetRepo,
  git,
  openHour,
  type RunningAgent,
  remoteFile,
  remoteLog,
  remoteStatusFile,
  startAgent,
  TOKEN_HEADER,
} from "../support/agent-harness.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";
import { createTrickyTree, treeManifest } from "../support/tree-manifest.ts";

const docker = new DockerAdapter(dockerFromEnv());
let repository: string;
let v1: TestImage;
let v2: TestImage;
let corrupt: TestImage;
let smtp: TestSmtpServer;
const agents: RunningAgent[] = [];

const CHANGELOG = {
  version: "2.0.0",
  date: "2026-11-27",
  sections: [
    { title: "New" as const, items: ["Export a conversation as Markdown"] },
    { title: "Fixed" as const, items: ["Saving twice no longer creates two tasks"] },
  ],
};

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-agent/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  corrupt = await buildTestImage({ version: "2.0.4", behaviour: "corrupt", repository });
  smtp = await startSmtpServer();
});

afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
  await smtp.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

async function digestOf(bot: string): Promise<string | undefined> {
  const info = await docker.inspect(bot);
  return info ? containerDigest(info) : undefined;
}

async function remoteStatus(bare: string, host: string): Promise<HostStatus> {
  return parse(await remoteStatusFile(bare, host)) as HostStatus;
}

describe("agent: a full rollout", () => {
  it("updates auto tenants in waves, offers the manual tenant its update, and audits everything in git", async () => {
    const [a1, a2] = await bots("alpha", "host-a", 2);
    const [b1] = await bots("beta", "host-a", 1);
    const [g1] = await bots("gamma", "host-a", 1);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        {
          tenant: "alpha",
          mode: "auto",
          hour: openHour(),
          contacts: ["alpha@tenant.example"],
          bots: [a1!, a2!],
        },
        {
          tenant: "beta",
          mode: "auto",
          hour: (openHour() + 23) % 24,
          contacts: ["beta@tenant.example"],
          bots: [b1!],
        },
        {
          tenant: "gamma",
          mode: "manual",
          hour: closedHour(),
          contacts: ["gamma@tenant.example"],
          bots: [g1!],
        },
      ],
    };
    const repo = await fleetRepo(decl);
    const running = await startAgent(repo.bare, "host-a", { SMTP_URL: smtp.url });
    agents.push(running);

    // First reconcile creates every declared bot at its channel's digest and records it.
    const first = await running.agent.reconcile("test: create");
    expect(first.failed).toEqual([]);
    for (const b of [a1!, a2!, b1!, g1!]) expect(await digestOf(b.id)).toBe(v1.digest);
    expect(Object.values((await remoteStatus(repo.bare, "host-a")).bots).map((b) => b.digest)).toEqual(
      Array(4).fill(v1.digest),
    );

    const id = await repo.plan(decl.image, v2.digest, CHANGELOG);
    const plan = parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
      targets: { bot: string; wave: number }[];
    };
    expect(plan.targets).toHaveLength(4);
    const waveOf = new Map(plan.targets.map((t) => [t.bot, t.wave]));

    const report = await running.agent.reconcile("test: rollout");
    expect(report.failed).toEqual([]);
    for (const b of [a1!, a2!, b1!]) expect(await digestOf(b.id)).toBe(v2.digest);
    expect(await digestOf(g1!.id)).toBe(v1.digest);

    const status = await remoteStatus(repo.bare, "host-a");
    expect(status.bots[g1!.id]?.updateAvailable).toEqual({ rollout: id, digest: v2.digest });
    const progress = status.rollouts[id]!;
    for (const b of [a1!, a2!, b1!])
      expect(progress.bots[b.id]).toMatchObject({ result: "updated", wave: waveOf.get(b.id) });
    expect(progress.bots[g1!.id]?.result).toBe("update-available");
    // Waves in order: every bot of an earlier wave finished before any bot of a later one.
    const finished = [a1!, a2!, b1!].map((b) => ({
      wave: waveOf.get(b.id)!,
      at: status.bots[b.id]!.last!.at,
    }));
    for (const x of finished) for (const y of finished) if (x.wave < y.wave) expect(x.at <= y.at).toBe(true);

    // The manual tenant got exactly one email, with the changelog.
    await running.agent.reconcile("test: again");
    await running.flushNotifications();
    const toGamma = smtp.messages.filter((m) => m.envelopeTo.includes("gamma@tenant.example"));
    expect(toGamma).toHaveLength(1);
    for (const item of ["Export a conversation as Markdown", "Saving twice no longer creates two tasks"]) {
      expect(toGamma[0]!.text).toContain(item);
      expect(toGamma[0]!.html).toContain(item);
    }

    // "Update now" through the API, as the dashboard does it.
    const response = await fetch(`${running.server.url}/api/bots/${g1!.id}/update`, {
      method: "POST",
      headers: TOKEN_HEADER,
    });
    expect(response.status).toBe(202);
    await eventually(
      async () => {
        const last = (await remoteStatus(repo.bare, "host-a")).bots[g1!.id]?.last;
        return last?.to === v2.digest && last.result === "updated" ? true : undefined;
      },
      60_000,
      "the manual bot's update",
    );
    expect(await digestOf(g1!.id)).toBe(v2.digest);
    const after = await remoteStatus(repo.bare, "host-a");
    expect(after.bots[g1!.id]?.updateAvailable).toBeUndefined();
    expect(after.bots[g1!.id]?.last?.actor).toBe("alice");

    // Asked again, the bot is already on the target: 409, and nothing is committed.
    const logBefore = await remoteLog(repo.bare);
    const again = await fetch(`${running.server.url}/api/bots/${g1!.id}/update`, {
      method: "POST",
      headers: TOKEN_HEADER,
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe(
      `bot ${g1!.id} already runs ${v2.digest.slice(0, 19)}, the target of rollout ${id}; nothing to update`,
    );
    expect(await remoteLog(repo.bare)).toBe(logBefore);

    // git is the audit log: trailers on the remote, and `fleetwave history` reads them back.
    const log = await remoteLog(repo.bare);
    expect(log).toMatch(new RegExp(`Fleetwave-Rollout: ${id}`));
    expect(log).toMatch(/Fleetwave-Event: bot\.updated/);
    expect(log).toMatch(/Fleetwave-Actor: alice/);
    await repo.pull();
    const history = await repo.cli("history", "--rollout", id, "--format", "json");
    expect(history.code, history.stderr).toBe(0);
    const rows = JSON.parse(history.stdout) as { bot: string; result: string; to: string; actor: string }[];
    const updated = rows
      .filter((r) => r.result === "updated" && r.to === v2.digest)
      .map((r) => r.bot)
      .sort();
    expect(updated).toEqual([a1!.id, a2!.id, b1!.id, g1!.id].sort());
    expect(rows.find((r) => r.bot === g1!.id)?.actor).toBe("alice");
  });
});

describe("agent: a bad version", () => {
  it("rolls back the first wave with the data intact, aborts at the threshold and never retries the digest", async () => {
    const fleet = await bots("delta", "host-a", 4);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        { tenant: "delta", mode: "auto", hour: openHour(), contacts: ["delta@tenant.example"], bots: fleet },
      ],
      // One retry: each bot of the first wave is tried twice, and still counts as one update.
      strategy: { failureThreshold: 2, healthCheckTimeoutSeconds: 4, maxRetries: 1 },
      admins: ["admins@acme.example"],
    };
    const repo = await fleetRepo(decl);
    const running = await startAgent(repo.bare, "host-a", { SMTP_URL: smtp.url });
    agents.push(running);
    await running.agent.reconcile("test: create");
    const before = new Map<string, Awaited<ReturnType<typeof treeManifest>>>();
    for (const b of fleet) {
      const mount = await docker.volumeMountpoint(`${b.id}-data`);
      await createTrickyTree(mount);
      before.set(b.id, await treeManifest(mount));
    }

    const id = await repo.plan(decl.image, corrupt.digest);
    const plan = parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
      targets: { bot: string; wave: number }[];
    };
    const firstWave = plan.targets.filter((t) => t.wave === 1).map((t) => t.bot);
    const later = plan.targets.filter((t) => t.wave > 1).map((t) => t.bot);
    expect(firstWave).toHaveLength(2);

    const report = await running.agent.reconcile("test: rollout");
    expect(report.failed).toHaveLength(2);
    for (const bot of firstWave) {
      expect(await digestOf(bot)).toBe(v1.digest);
      expect(await treeManifest(await docker.volumeMountpoint(`${bot}-data`))).toEqual(before.get(bot));
    }
    for (const bot of later) expect(await digestOf(bot)).toBe(v1.digest);

    const status = await remoteStatus(repo.bare, "host-a");
    for (const bot of firstWave) {
      expect(status.rollouts[id]?.bots[bot]?.result).toBe("rolled-back");
      expect(status.bots[bot]?.last?.result).toBe("rolled-back");
      expect(status.bots[bot]?.digest).toBe(v1.digest);
    }
    for (const bot of later) expect(status.rollouts[id]?.bots[bot]?.result).toBe("pending");
    const metrics = await (await fetch(`${running.server.url}/metrics`)).text();
    const sample = (name: string) =>
      Number(
        metrics
          .split("\n")
          .find((l) => l.startsWith(`${name} `))
          ?.split(" ")[1],
      );
    expect(sample('fleetwave_bot_updates_total{result="rolled-back"}')).toBe(2);
    expect(sample("fleetwave_rollbacks_total")).toBe(4);
    expect(sample('fleetwave_update_phase_duration_seconds_count{phase="rollback"}')).toBe(4);
    for (const bot of firstWave)
      expect(
        running.logs.some(
          (l) => l.includes(`rollout=${id} bot=${bot}: rolled back`) && l.includes('"attempts":2'),
        ),
      ).toBe(true);
    expect(status.quarantine.map((q) => q.digest)).toContain(corrupt.digest);
    const control = (
      parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
        control: { state: string; by: string };
      }
    ).control;
    expect(control).toMatchObject({ state: "aborted", by: "agent host-a" });

    // The next tick starts nothing: the digest is not retried.
    const next = await running.agent.reconcile("test: next tick");
    expect(next.outcomes).toEqual([]);
    for (const b of fleet) expect(await digestOf(b.id)).toBe(v1.digest);

    await running.flushNotifications();
    const toAdmins = smtp.messages.filter((m) => m.envelopeTo.includes("admins@acme.example"));
    const aborted = toAdmins.filter((m) => /abort/i.test(m.subject));
    expect(aborted, toAdmins.map((m) => m.subject).join("\n")).toHaveLength(1);
    expect(aborted[0]!.text).toContain(firstWave[0]!);
    expect(toAdmins.filter((m) => /rolled back/i.test(m.subject))).toHaveLength(2);
    // A planner run now refuses the quarantined digest for this image.
    await repo.pull();
    const again = await repo.cli("plan", "--image", decl.image, "--digest", corrupt.digest, "--dry-run");
    expect(again.code).toBe(1);
  });
});

describe("agent: threshold pause", () => {
  it("pauses at the threshold, and a resume gives the rollout a fresh count", async () => {
    const fleet = await bots("epsilon", "host-a", 3);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "epsilon", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
      strategy: { batchPercent: 25, failureThreshold: 1, onThreshold: "pause", healthCheckTimeoutSeconds: 3 },
    };
    const repo = await fleetRepo(decl);
    const running = await startAgent(repo.bare, "host-a");
    agents.push(running);
    await running.agent.reconcile("test: create");
    const id = await repo.plan(decl.image, corrupt.digest);
    const control = async () =>
      (
        parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
          control: { state: string; by?: string };
        }
      ).control;
    const results = async () =>
      Object.values((await remoteStatus(repo.bare, "host-a")).rollouts[id]?.bots ?? {}).map((b) => b.result);

    await running.agent.reconcile("test: rollout");
    expect(await control()).toMatchObject({ state: "paused", by: "agent host-a" });
    expect((await results()).filter((r) => r === "rolled-back")).toHaveLength(1);
    await running.agent.reconcile("test: still paused");
    expect((await results()).filter((r) => r === "rolled-back")).toHaveLength(1);

    const resumed = await fetch(`${running.server.url}/api/rollouts/${id}/resume`, {
      method: "POST",
      headers: TOKEN_HEADER,
    });
    expect(resumed.status).toBe(200);
    await eventually(
      async () => ((await results()).filter((r) => r === "rolled-back").length === 2 ? true : undefined),
      90_000,
      "the next wave after the resume",
    );
    await eventually(
      async () => ((await control()).state === "paused" ? true : undefined),
      30_000,
      "the second pause",
    );
    expect((await results()).filter((r) => r === "pending")).toHaveLength(1);
    for (const b of fleet) expect(await digestOf(b.id)).toBe(v1.digest);
  });
});

describe("agent: the next wave when its pause ends", () => {
  it("wakes for wave 2 when the pause is over instead of waiting for the next poll", async () => {
    const fleet = await bots("zeta", "host-a", 2);
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [{ tenant: "zeta", mode: "auto", hour: openHour(), contacts: [], bots: fleet }],
      strategy: { pauseSeconds: 2 },
    };
    const repo = await fleetRepo(decl);
    const running = await startAgent(repo.bare, "host-a");
    agents.push(running);
    await running.agent.reconcile("test: create");
    const id = await repo.plan(decl.image, v2.digest);
    const plan = parse(await remoteFile(repo.bare, `fleet-state/rollouts/${id}.yaml`)) as {
      targets: { bot: string; wave: number }[];
    };
    expect(plan.targets.map((t) => t.wave).sort()).toEqual([1, 2]);

    // The poll is ten minutes away: only the wake-up at the end of the pause starts wave 2 in time.
    const schedule = new ReconcileSchedule(running.agent, { intervalMs: 10 * 60_000 });
    schedule.start();
    try {
      await eventually(
        async () =>
          (await remoteStatus(repo.bare, "host-a")).rollouts[id]?.wavesDone === 2 ? true : undefined,
        60_000,
        "wave 2 of the rollout",
      );
    } finally {
      schedule.stop();
    }
    const status = await remoteStatus(repo.bare, "host-a");
    for (const b of fleet) {
      expect(status.rollouts[id]?.bots[b.id]?.result).toBe("updated");
      expect(await digestOf(b.id)).toBe(v2.digest);
    }
    // The pause still holds: wave 2's bot updated at least pauseSeconds after wave 1's finished.
    const finishedAt = (wave: number) => {
      const bot = plan.targets.find((t) => t.wave === wave)!.bot;
      return Date.parse(status.bots[bot]!.last!.at);
    };
    expect(finishedAt(2) - finishedAt(1)).toBeGreaterThanOrEqual(2000);
    expect(running.logs.some((l) => l.includes("reconcile (gate opens)"))).toBe(true);

    // The commit that finished the host's last wave already says the rollout is completed there.
    const ref = "refs/heads/fleetwave/status/host-a";
    const states: (string | undefined)[] = [];
    for (const commit of (await git(repo.bare, "rev-list", "--reverse", ref)).trim().split("\n")) {
      const at = parse(
        await git(repo.bare, "show", `${commit}:fleet-state/status/host-a.yaml`),
      ) as HostStatus;
      if (at.rollouts[id]?.wavesDone === 2) states.push(at.rollouts[id]?.state);
    }
    expect(states[0]).toBe("completed");
  });
});
