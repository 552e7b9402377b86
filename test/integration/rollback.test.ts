/**
 * `fleetwave rollback --previous` end to end: the operator's commit pins the bot, a real agent
 * rolls it back with its snapshot and health gate, the tenant gets the email, and
 * `fleetwave history` shows the rollback and the API's pause beside the bot's updates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { HistoryRow } from "#fleetwave/audit/history.ts";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { shortDigest } from "#fleetwave/text/digest.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  fleetRepo,
  git,
  openHour,
  pushMain,
  type RunningAgent,
  remoteStatusFile,
  startAgent,
  TOKEN_HEADER,
} from "../support/agent-harness.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";

const docker = new DockerAdapter(dockerFromEnv());
let v1: TestImage;
let v2: TestImage;
let smtp: TestSmtpServer;
let agent: RunningAgent | undefined;

beforeAll(async () => {
  const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-rollback/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  smtp = await startSmtpServer();
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await smtp.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

const digestOf = async (bot: string) => {
  const info = await docker.inspect(bot);
  return info ? containerDigest(info) : undefined;
};

describe("fleetwave rollback", () => {
  it("rolls one bot back to its previous healthy digest through a commit and an agent", async () => {
    const [bot] = await bots("rollback", "host-a", 1);
    const decl: FleetDecl = {
      image: `${v1.repository}:managed`,
      tenants: [
        { tenant: "rb", mode: "auto", hour: openHour(), contacts: ["owner@rb.example"], bots: [bot!] },
      ],
      strategy: { name: "immediate" },
    };
    const repo = await fleetRepo(decl);
    agent = await startAgent(repo.bare, "host-a", { SMTP_URL: smtp.url });
    await agent.agent.reconcile("create");
    const rollout = await repo.plan(decl.image, v2.digest);
    await agent.agent.reconcile("rollout");
    expect(await digestOf(bot!.id)).toBe(v2.digest);
    await smtp.waitFor(1, 10_000);
    for (const verb of ["pause", "resume"])
      expect(
        (await fetch(`${agent.server.url}/api/${verb}`, { method: "POST", headers: TOKEN_HEADER })).status,
      ).toBe(200);

    await repo.pull();
    const rb = await repo.cli(
      "rollback",
      bot!.id,
      "--previous",
      "--actor",
      "ops",
      "--reason",
      "v2 breaks exports",
    );
    expect(rb.stderr).toBe("");
    expect(rb.stdout).toContain(`${shortDigest(v2.digest)} -> ${shortDigest(v1.digest)}`);
    await pushMain(repo.work);
    await agent.agent.reconcile("rollback");
    expect(await digestOf(bot!.id)).toBe(v1.digest);

    const status = parse(await remoteStatusFile(repo.bare, "host-a")) as HostStatus;
    expect(status.bots[bot!.id]?.last).toMatchObject({ result: "updated", from: v2.digest, to: v1.digest });
    const mails = await smtp.waitFor(2, 10_000);
    expect(mails[1]!.to).toEqual(["owner@rb.example"]);
    expect(mails[1]!.text).toContain(`Your bot ${bot!.id} was updated to`);

    await repo.pull();
    const history = await repo.cli("history", "--bot", bot!.id, "--format", "json");
    const rows = JSON.parse(history.stdout) as HistoryRow[];
    expect(rows.map((r) => [r.kind, r.result, r.from, r.to, r.actor, r.rollout])).toEqual([
      ["update", "updated", v2.digest, v1.digest, "agent host-a", ""],
      ["action", "bot.rollback", "", v1.digest, "ops", ""],
      ["update", "updated", v1.digest, v2.digest, "agent host-a", rollout],
      ["update", "updated", "none", v1.digest, "agent host-a", ""],
    ]);
    const byAlice = JSON.parse(
      (await repo.cli("history", "--actor", "alice", "--format", "json")).stdout,
    ) as HistoryRow[];
    expect(byAlice.map((r) => r.result)).toEqual(["fleet.resume", "fleet.pause"]);

    // The dashboard's route: the agent commits the pin itself (to v2 again, named with `to`).
    const api = await fetch(`${agent.server.url}/api/bots/${bot!.id}/rollback`, {
      method: "POST",
      headers: { ...TOKEN_HEADER, "content-type": "application/json" },
      body: JSON.stringify({ to: v2.digest, reason: "v1 cannot read the new exports" }),
    });
    expect(api.status).toBe(200);
    const apiCommit = await git(repo.bare, "log", "-1", "--format=%an%n%B", "main");
    expect(apiCommit.startsWith("alice\n")).toBe(true);
    expect(apiCommit).toContain(
      `Fleetwave-Actor: alice\nFleetwave-Action: bot.rollback ${bot!.id} ${v2.digest}\n`,
    );
    await eventually(
      async () => ((await digestOf(bot!.id)) === v2.digest ? true : undefined),
      60_000,
      "the agent to follow the API's pin",
    );
  });
});
