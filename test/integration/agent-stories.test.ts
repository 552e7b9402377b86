/**
 * Stories an operator lives through while a rollout runs, against the real engine, real git and
 * a real agent: tenants change their mode and hour mid-rollout, a window opens later, a flaky
 * image passes on its retry, an `immediate` plan ignores the threshold, and admins hear of each
 * rollout's start and completion once. One agent and one fleet carry all of them, to keep the
 * run short; the agent's clock is moved (never slept) for the window that opens hours later.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  fleetRepo,
  type RunningAgent,
  remoteFile,
  remoteLog,
  remoteStatusFile,
  startAgent,
  type TenantDecl,
  tenantYaml,
} from "../support/agent-harness.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";

const docker = new DockerAdapter(dockerFromEnv());
const HOST = "host-a";
const ADMINS = "admins@stories.example";
let repository: string;
let v1: TestImage;
let v2: TestImage;
let flaky: TestImage;
let old: TestImage;
let smtp: TestSmtpServer;
let receiver: HttpReceiver;
let running: RunningAgent | undefined;

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-stories/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  await buildTestImage({ version: "1.0.0", repository, tag: "edge" });
  // The clean-up ranks images by creation time (whole seconds): the old image must be older than
  // the versions rolled out. Those are built fresh per run, in a later second than the old one.
  old = await buildTestImage({ version: "0.9.0", repository });
  const oldCreated = (await docker.docker.getImage(old.imageId).inspect()).Created;
  await eventually(
    async () => (Date.now() >= Date.parse(oldCreated) + 1000 ? true : undefined),
    5000,
    "the next second",
  );
  const run = Date.now().toString(36);
  v2 = await buildTestImage({ version: `2.0.0-${run}`, repository });
  flaky = await buildTestImage({ version: `2.1.0-${run}`, behaviour: "flaky", repository });
  smtp = await startSmtpServer();
  receiver = await startHttpReceiver();
  // The flaky image's first start fails its health gate, every later one passes.
  receiver.answer = (request, index) => (request.path === "/flaky" && index === 0 ? "fail" : "ok");
});

afterAll(async () => {
  await running?.stop().catch(() => undefined);
  await smtp.close();
  await receiver.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

async function digestOf(bot: string): Promise<string | undefined> {
  const info = await docker.inspect(bot);
  return info ? containerDigest(info) : undefined;
}

async function remoteStatus(bare: string): Promise<HostStatus> {
  return parse(await remoteStatusFile(bare, HOST)) as HostStatus;
}

describe("agent: stories of a running rollout", () => {
  it("follows mode and hour changes, opens late windows, runs an immediate plan that retries a flaky image, announces each rollout once, cleans up old images and corrects drift", async () => {
    // Real hours, so no clock is faked for the first part: H is open now, H+12 is closed, and
    // with 120-minute windows H stays open even if the real hour turns during the test.
    const H = new Date().getUTCHours();
    const [switcher] = await bots("switcher", HOST, 1);
    const [mover] = await bots("mover", HOST, 1);
    const [later] = await bots("later", HOST, 1);
    // The edge channel gets the flaky image through an immediate plan: the first bot passes on
    // its retry; the second is never told "ok" (no FLAKY_ADDR), so it fails every attempt.
    const [flakyBot, broken] = await bots("edge", HOST, 2);
    for (const b of [flakyBot!, broken!]) b.image = `${repository}:edge`;
    flakyBot!.env = { FLAKY_ADDR: receiver.url.replace("http://", "") };
    const tenants: TenantDecl[] = [
      { tenant: "switcher", mode: "manual", hour: H, contacts: ["s@tenant.example"], bots: [switcher!] },
      { tenant: "mover", mode: "auto", hour: (H + 12) % 24, contacts: [], bots: [mover!] },
      { tenant: "later", mode: "auto", hour: (H + 3) % 24, contacts: [], bots: [later!] },
      { tenant: "edge", mode: "auto", hour: H, contacts: [], bots: [flakyBot!, broken!] },
    ];
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants,
      windowMinutes: 120,
      strategy: {
        batchPercent: 100,
        maxParallel: 4,
        maxRetries: 1,
        failureThreshold: 1,
        healthCheckTimeoutSeconds: 2,
        minHealthySeconds: 1,
      },
      admins: [ADMINS],
      keepOnHost: 2,
      drift: { policy: "correct", stopped: "respect" },
      webhooks: [{ url: `${receiver.url}/hooks`, events: ["rollout.started", "rollout.completed"] }],
    };
    const repo = await fleetRepo(decl);
    let offsetMs = 0;
    running = await startAgent(repo.bare, HOST, { SMTP_URL: smtp.url }, undefined, {
      now: () => new Date(Date.now() + offsetMs),
    });
    const agent = running.agent;
    expect((await agent.reconcile("test: create")).failed).toEqual([]);

    // Both plans at once (`fleetwave plan` is a process each), then one commit.
    await repo.pull();
    const planned = await Promise.all([
      repo.cli("plan", "--image", decl.image, "--digest", v2.digest),
      repo.cli("plan", "--image", `${repository}:edge`, "--digest", flaky.digest, "--strategy", "immediate"),
    ]);
    const [main, edge] = planned.map((p) => {
      expect(p.code, p.stderr).toBe(0);
      return /Rollout plan (\S+)/.exec(p.stdout)![1]!;
    }) as [string, string];
    await repo.commit({}, "plan the managed and edge rollouts");

    // Before any update: the dry run names the old image and removes nothing.
    const dry = await repo.cli("images", "prune", "--host", HOST, "--data-dir", running.dataDir, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    const dryLines = dry.stdout.split("\n");
    const lineOf = (image: TestImage) => dryLines.find((l) => l.includes(image.imageId.slice(7, 19))) ?? "";
    expect(lineOf(old)).toMatch(/^would remove\t.*\tunused$/);
    expect(lineOf(v1)).toMatch(/^keep\t.*\ta container uses it$/);
    for (const image of [v2, flaky]) expect(lineOf(image)).toMatch(/^keep\t.*\tone of the newest 2$/);
    expect(await docker.imageExists(old.ref)).toBe(true);

    // 1. One reconcile: the manual tenant is offered the update, closed windows hold their bots,
    // the immediate plan tries every target at once, and the flaky bot passes on its retry.
    await agent.reconcile("test: rollouts");
    let status = await remoteStatus(repo.bare);
    expect(status.rollouts[main]?.bots[switcher!.id]?.result).toBe("update-available");
    expect(status.rollouts[main]?.bots[mover!.id]?.result).toBe("pending");
    expect(status.rollouts[main]?.bots[later!.id]?.result).toBe("pending");
    for (const b of [switcher!, mover!, later!]) expect(await digestOf(b.id)).toBe(v1.digest);

    expect(status.rollouts[edge]?.bots[flakyBot!.id]).toMatchObject({ result: "updated", attempts: 2 });
    expect(await digestOf(flakyBot!.id)).toBe(flaky.digest);
    expect(receiver.requests.filter((r) => r.path === "/flaky")).toHaveLength(2);
    expect(status.rollouts[edge]?.bots[broken!.id]).toMatchObject({ result: "rolled-back", attempts: 2 });
    expect(await digestOf(broken!.id)).toBe(v1.digest);
    const edgePlan = parse(await remoteFile(repo.bare, `fleet-state/rollouts/${edge}.yaml`)) as {
      targets: { wave: number }[];
      control: { state: string };
    };
    expect(edgePlan.targets.map((t) => t.wave)).toEqual([1, 1]);
    // A failure at failureThreshold 1, and the immediate plan is neither aborted nor paused.
    expect(edgePlan.control.state).toBe("active");
    expect(status.rollouts[edge]?.state).toBe("completed");
    // The first successful update removed the unused old image; the images in use stay.
    expect(await docker.imageExists(old.ref)).toBe(false);
    for (const image of [v1, v2, flaky]) expect(await docker.imageExists(image.pinned)).toBe(true);

    // 2. The manual tenant switches to auto and the mover moves its hour to now: both update on
    // the next reconcile; the tenant whose window is still closed does not.
    await repo.commit(
      {
        "fleet-state/tenants/switcher.yaml": tenantYaml(decl, { ...tenants[0]!, mode: "auto" }),
        "fleet-state/tenants/mover.yaml": tenantYaml(decl, { ...tenants[1]!, hour: H }),
      },
      "tenants: switcher goes auto, mover updates at the current hour",
    );
    await agent.reconcile("test: changed tenants");
    status = await remoteStatus(repo.bare);
    for (const b of [switcher!, mover!]) {
      expect(status.rollouts[main]?.bots[b.id]?.result).toBe("updated");
      expect(await digestOf(b.id)).toBe(v2.digest);
    }
    expect(status.bots[switcher!.id]?.updateAvailable).toBeUndefined();
    expect(status.rollouts[main]?.bots[later!.id]?.result).toBe("pending");
    expect(await digestOf(later!.id)).toBe(v1.digest);
    expect(status.rollouts[main]?.state).toBe("in-progress");

    // 3. Three hours later (the agent's clock, moved) the late window is open: the bot updates.
    const opening = new Date();
    opening.setUTCHours(H + 3, 5, 0, 0);
    offsetMs = opening.getTime() - Date.now();
    await agent.reconcile("test: the late window opens");
    status = await remoteStatus(repo.bare);
    expect(status.rollouts[main]?.bots[later!.id]?.result).toBe("updated");
    expect(await digestOf(later!.id)).toBe(v2.digest);
    expect(status.rollouts[main]?.state).toBe("completed");

    // 4. Each rollout's start and completion reached the webhook and the admins' mailbox once.
    await agent.reconcile("test: nothing left");
    const expected = [main, edge].flatMap((id) => [`rollout.started ${id}`, `rollout.completed ${id}`]);
    const hooks = await eventually(
      async () => {
        const seen = receiver.requests.filter((r) => r.path === "/hooks");
        return seen.length >= expected.length ? seen : undefined;
      },
      30_000,
      "the rollout webhooks",
    );
    const posted = hooks.map((h) => JSON.parse(h.body) as { event: string; rollout: string });
    expect(posted.map((p) => `${p.event} ${p.rollout}`).sort()).toEqual([...expected].sort());
    const completedMain = posted.find((p) => p.event === "rollout.completed" && p.rollout === main);
    expect(completedMain).toMatchObject({ summary: { updated: 3, failed: 0, skipped: 0 } });
    const completedEdge = posted.find((p) => p.event === "rollout.completed" && p.rollout === edge);
    expect(completedEdge).toMatchObject({ summary: { updated: 1, failed: 1 } });

    const rolloutMail = () =>
      smtp.messages.filter(
        (m) => m.envelopeTo.includes(ADMINS) && /rollout \S+ (started|completed)/.test(m.subject),
      );
    await eventually(
      async () => (rolloutMail().length >= expected.length ? true : undefined),
      30_000,
      "the rollout emails",
    );
    const subjects = rolloutMail().map((m) => m.subject);
    for (const id of [main, edge]) {
      expect(
        subjects.filter((s) => s.includes(`rollout ${id} started`)),
        subjects.join("\n"),
      ).toHaveLength(1);
      expect(
        subjects.filter((s) => s.includes(`rollout ${id} completed`)),
        subjects.join("\n"),
      ).toHaveLength(1);
    }
    expect(subjects.find((s) => s.includes(`rollout ${main} completed`))).toContain("3 updated, 0 failed");
    expect(smtp.messages.filter((m) => / (aborted|paused)/.test(m.subject))).toEqual([]);

    // 5. Drift: someone recreates a bot by hand with an extra env var, and stops another one.
    // The first is recreated from fleet-state (committed with the reason); the second, under
    // drift.stopped: respect, stays stopped and is reported.
    const before = (await docker.inspect(later!.id))!;
    await docker.remove(before.Id);
    const byHand = await docker.docker.createContainer({
      name: later!.id,
      Image: before.Config.Image,
      Env: [...(before.Config.Env ?? []), "DEBUG=1"],
      Labels: before.Config.Labels,
      HostConfig: before.HostConfig,
    });
    await byHand.start();
    await docker.stop(mover!.id, 5);
    await agent.reconcile("test: drift");
    const fixed = (await docker.inspect(later!.id))!;
    expect(fixed.Id).not.toBe(byHand.id);
    expect(fixed.Config.Env).not.toContain("DEBUG=1");
    expect(fixed.State.Running).toBe(true);
    expect(await digestOf(later!.id)).toBe(v2.digest);
    expect((await docker.inspect(mover!.id))?.State.Status).toBe("exited");
    status = await remoteStatus(repo.bare);
    expect(status.bots[later!.id]?.last).toMatchObject({ result: "updated", actor: "drift" });
    expect(status.bots[later!.id]?.last?.reason).toContain(
      "corrected drift (env DEBUG is not in fleet-state)",
    );
    expect(status.bots[mover!.id]?.state).toBe("stopped");
    // Containers Fleetwave made itself are never drift.
    for (const b of [switcher!, flakyBot!, broken!]) expect(status.bots[b.id]?.last?.actor).toBeUndefined();
    const log = await remoteLog(repo.bare);
    expect(log).toContain(`drift corrected: ${later!.id}: env DEBUG is not in fleet-state`);
    expect(log).toContain(`stopped: ${mover!.id} was stopped by hand; left stopped`);
  });
});
