import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { containerDigest, DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { updateBot } from "#fleetwave/engine/update-bot.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  bots,
  eventually,
  type FleetDecl,
  fleetRepo,
  git,
  openHour,
  type RunningAgent,
  remoteStatusFile,
  startAgent,
  tenantYaml,
} from "../support/agent-harness.ts";
import { removeContainersByLabel } from "../support/docker.ts";
import { engineFor } from "../support/engine-harness.ts";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.ts";

const run = promisify(execFile);
const docker = new DockerAdapter(dockerFromEnv());
let repository: string;
let v1: TestImage;
let v2: TestImage;
let smtp: TestSmtpServer;
const agents: RunningAgent[] = [];

beforeAll(async () => {
  repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-trust/bot`;
  v1 = await buildTestImage({ version: "1.0.0", repository, tag: "managed" });
  v2 = await buildTestImage({ version: "2.0.0", repository });
  smtp = await startSmtpServer();
});

afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
  await smtp.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

/** A fresh ed25519 key pair made by ssh-keygen; returns the private key's path. */
async function sshKey(dir: string, name: string): Promise<string> {
  const file = join(dir, name);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return file;
}

const signing = (key: string) => ({ "gpg.format": "ssh", "user.signingkey": key, "commit.gpgsign": "true" });

describe("trust: verified commits and secrets out of git", () => {
  it("reads secrets from the host only, acts only on verified fleet-state commits, signs its own and recovers when the branch is rewritten", async () => {
    const keys = await mkdtemp(join(tmpdir(), "fleetwave-keys-"));
    const [ops, host, rogue] = [
      await sshKey(keys, "ops"),
      await sshKey(keys, "host-a"),
      await sshKey(keys, "rogue"),
    ];
    const allowed = join(keys, "allowed_signers");
    const pub = async (key: string) =>
      (await run("cat", [`${key}.pub`])).stdout.split(" ").slice(0, 2).join(" ");
    await writeFile(allowed, `ops@acme.example ${await pub(ops)}\nhost-a ${await pub(host)}\n`);

    // Secrets: one bot reads an API key from the host, another names a file that is missing.
    const secretsDir = await mkdtemp(join(tmpdir(), "fleetwave-secrets-"));
    const SECRET = `sk-live-${process.pid}-do-not-leak`;
    await mkdir(join(secretsDir, "trust"));
    await writeFile(join(secretsDir, "trust", "API_KEY"), `${SECRET}\n`, { mode: 0o600 });
    const missingFile = join(secretsDir, "trust", "MISSING");
    const [bot, withSecret, withoutSecret] = await bots("trust", "host-a", 3);
    withSecret!.env = { API_KEY: { fromFile: join(secretsDir, "trust", "API_KEY") } };
    withoutSecret!.env = { API_KEY: { fromFile: missingFile } };
    const decl: FleetDecl = {
      image: `${repository}:managed`,
      tenants: [
        {
          tenant: "trust",
          mode: "auto",
          hour: openHour(),
          contacts: [],
          bots: [bot!, withSecret!, withoutSecret!],
        },
      ],
      admins: ["trust-watch@acme.example"],
    };
    const repo = await fleetRepo(decl, signing(ops));
    const a = await startAgent(repo.bare, "host-a", { SMTP_URL: smtp.url }, undefined, {
      trust: { allowedSignersFile: allowed },
      signingKey: host,
      secretsDir,
    });
    agents.push(a);
    const digest = async () => containerDigest((await docker.inspect(bot!.id))!);
    await a.agent.reconcile("create");
    expect(await digest()).toBe(v1.digest);

    // The secret reaches the container and nothing else: not status, commits, API or logs.
    const created = await docker.inspect(withSecret!.id);
    expect(created?.Config.Env).toContain(`API_KEY=${SECRET}`);
    expect(created?.Config.Labels?.["fleetwave.secret-env"]).toBe("API_KEY");
    expect(await docker.inspect(withoutSecret!.id)).toBeUndefined();
    const first = parse(await remoteStatusFile(repo.bare, "host-a")) as HostStatus;
    expect(first.bots[withoutSecret!.id]?.last?.reason).toContain(
      `secret file ${missingFile} does not exist`,
    );
    // Nothing confirmed a digest yet: the bot was created at the tag's digest, and says so.
    expect(first.bots[bot!.id]?.last?.reason).toContain("no digest of");
    const everything = [
      await git(repo.bare, "log", "-p", "--all"),
      JSON.stringify(a.agent.status()),
      a.logs.join("\n"),
    ].join("\n");
    expect(everything).not.toContain(SECRET);
    // An update whose secret file went missing fails before the bot is stopped.
    const running = await docker.inspect(withSecret!.id);
    await rm(join(secretsDir, "trust", "API_KEY"));
    const declared = a.agent.desiredState!.bots.find((b) => b.id === withSecret!.id)!;
    const refused = await updateBot(declared, v2.digest, await engineFor({ secretsDir }));
    expect(refused.result).toBe("failed");
    expect(refused.reason).toContain(
      `env API_KEY: secret file ${join(secretsDir, "trust", "API_KEY")} does not exist`,
    );
    expect(refused.reason).toContain("the bot was not stopped");
    const still = await docker.inspect(withSecret!.id);
    expect(still?.Id).toBe(running?.Id);
    expect(still?.State.Running).toBe(true);
    // The agent's own status commit is signed with its host key and verifies.
    const verify = (rev: string) =>
      git(repo.bare, "-c", `gpg.ssh.allowedSignersFile=${allowed}`, "verify-commit", rev).then(
        () => true,
        () => false,
      );
    expect(await git(repo.bare, "log", "-1", "--format=%ae", "fleetwave/status/host-a")).toContain(
      "fleetwave-agent@host-a",
    );
    expect(await verify("fleetwave/status/host-a")).toBe(true);

    // A rollout plan signed by a key nobody trusts, then a trusted commit on top of it.
    await git(repo.work, "config", "user.signingkey", rogue);
    await repo.plan(decl.image, v2.digest);
    const planned = (await git(repo.work, "rev-parse", "HEAD")).trim();
    await git(repo.work, "config", "user.signingkey", ops);
    const withContacts = (contacts: string[]) => tenantYaml(decl, { ...decl.tenants[0]!, contacts });
    await repo.commit({ "fleet-state/tenants/trust.yaml": withContacts(["a@acme.example"]) }, "contacts");
    for (let i = 0; i < 2; i++) await a.agent.reconcile("untrusted");
    expect(await digest()).toBe(v1.digest);
    expect(a.agent.desiredState?.rollouts).toEqual([]);
    expect(a.agent.desiredState?.tenants[0]?.contacts).toEqual([]);
    const error = a.agent.status().lastError;
    expect(error?.message).toContain(`commit ${planned.slice(0, 12)} is not verified`);
    expect(error?.message).toContain("not trusted");
    const status = parse(await remoteStatusFile(repo.bare, "host-a")) as HostStatus;
    expect(status.unverified?.commit).toBe(planned);
    const alerts = () => smtp.messages.filter((m) => m.envelopeTo.includes("trust-watch@acme.example"));
    await eventually(async () => (alerts().length > 0 ? true : undefined), 20_000, "the admin alert");

    // The operator rewrites the branch without the untrusted commit (and re-signs what follows).
    await repo.pull();
    await git(repo.work, "rebase", "--quiet", "--onto", `${planned}^`, planned);
    await git(repo.work, "push", "--quiet", "--force", "origin", "HEAD:main");
    await a.agent.reconcile("rewritten");
    expect(a.agent.status().lastError).toBeUndefined();
    expect(a.agent.desiredState?.tenants[0]?.contacts).toEqual(["a@acme.example"]);
    expect(alerts()).toHaveLength(1);

    // A host's status ref whose tip nobody trusted signed is not read: status steers agents too.
    const forged = (await remoteStatusFile(repo.bare, "host-a")).replace(/^host: host-a$/m, "host: host-b");
    expect(forged).toContain("host: host-b");
    await git(repo.work, "checkout", "--quiet", "--orphan", "forged-status");
    await git(repo.work, "rm", "-rfq", ".");
    await mkdir(join(repo.work, "fleet-state", "status"), { recursive: true });
    await writeFile(join(repo.work, "fleet-state", "status", "host-b.yaml"), forged);
    await git(repo.work, "add", "-A");
    await git(repo.work, "-c", "commit.gpgsign=false", "commit", "--quiet", "-m", "host-b status, unsigned");
    await git(repo.work, "push", "--quiet", "origin", "HEAD:refs/heads/fleetwave/status/host-b");
    await git(repo.work, "checkout", "--quiet", "-f", "main");
    await a.agent.reconcile("forged status");
    expect(a.agent.desiredState?.statuses.map((x) => x.host)).not.toContain("host-b");
    expect(a.logs.join("\n")).toMatch(/status of host-b at [0-9a-f]{12}: it is not signed/);

    // An unsigned commit on top of a signed one is not acted on.
    await git(repo.work, "config", "commit.gpgsign", "false");
    const unsigned = await repo.commit(
      { "fleet-state/tenants/trust.yaml": withContacts(["a@acme.example", "b@acme.example"]) },
      "unsigned contacts",
    );
    await a.agent.reconcile("unsigned");
    expect(a.agent.desiredState?.tenants[0]?.contacts).toEqual(["a@acme.example"]);
    expect(a.agent.status().lastError?.message).toContain(`commit ${unsigned.slice(0, 12)} is not verified`);
    expect(a.agent.status().lastError?.message).toContain("not signed");
    await eventually(async () => (alerts().length === 2 ? true : undefined), 20_000, "the second alert");
  });
});
