/**
 * Declared bots that have no container are created side by side, at most `maxParallel` at once,
 * against the real engine and a real agent. The bots are `gated`: each stays running but unhealthy
 * until this test releases it, so the test sees, in the engine, how many creations are in flight
 * together, with no timing at all: created one after another, never two are held at once and the
 * test runs into its deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import type { HostStatus } from "#fleetwave/model/status.ts";
import { buildTestImage, type TestImage } from "#scripts/local-env/bot-image.ts";
import {
  type BotDecl,
  bots,
  type FleetDecl,
  fleetRepo,
  type RunningAgent,
  remoteStatusFile,
  startAgent,
} from "../support/agent-harness.ts";
import { removeContainersByLabel, waitForHttp } from "../support/docker.ts";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.ts";

const docker = new DockerAdapter(dockerFromEnv());
const HOST = "host-create";
const MAX_PARALLEL = 2;
let gated: TestImage;
let receiver: HttpReceiver;
let running: RunningAgent | undefined;

beforeAll(async () => {
  const repository = `${process.env.FLEETWAVE_REGISTRY}/fleetwave-create/bot`;
  gated = await buildTestImage({ version: "1.0.0", behaviour: "gated", repository });
  receiver = await startHttpReceiver();
});

afterAll(async () => {
  await running?.stop().catch(() => undefined);
  await receiver.close();
  await removeContainersByLabel("fleetwave.managed=true");
});

describe("agent: creating declared bots", () => {
  it("creates missing bots in parallel, never more than maxParallel at once, and records each healthy", async () => {
    const declared: BotDecl[] = await bots("new", HOST, 5);
    const gateAddr = receiver.url.replace("http://", "");
    for (const b of declared) b.env = { GATE_ADDR: gateAddr, GATE_ID: b.id };
    const decl: FleetDecl = {
      image: gated.ref,
      strategy: { maxParallel: MAX_PARALLEL, healthCheckTimeoutSeconds: 60, minHealthySeconds: 0 },
      tenants: [{ tenant: "acme", mode: "auto", hour: 3, contacts: [], bots: declared }],
    };
    const released = new Set<string>();
    receiver.answer = (request) => (released.has(request.path.replace("/gate/", "")) ? "ok" : "wait");
    const repo = await fleetRepo(decl);
    running = await startAgent(repo.bare, HOST);

    const ids = new Set(declared.map((b) => b.id));
    /** Bots the engine runs that this test has not released: creations still in flight. */
    const held = async () =>
      (await docker.listManaged())
        .filter((c) => ids.has(c.name) && c.state === "running" && !released.has(c.name))
        .map((c) => c.name)
        .sort();

    const reconciled = running.agent.reconcile("create");
    let most = 0;
    const deadline = Date.now() + 30_000;
    // Released one at a time, and only once as many as may be in flight are held: a pool that
    // started more would show them here before the next release.
    while (released.size < ids.size) {
      const now = await held();
      expect(now.length).toBeLessThanOrEqual(MAX_PARALLEL);
      most = Math.max(most, now.length);
      if (now.length > 0 && now.length === Math.min(MAX_PARALLEL, ids.size - released.size))
        released.add(now[0]!);
      else if (Date.now() > deadline)
        throw new Error(
          `timed out: ${released.size} of ${ids.size} bots released, ${now.length} held now (${now.join(", ") || "none"}); creation is not parallel up to ${MAX_PARALLEL}`,
        );
      else await new Promise((r) => setTimeout(r, 100));
    }
    const report = await reconciled;
    expect(most).toBe(MAX_PARALLEL);

    expect(report.failed).toEqual([]);
    expect(report.outcomes.map((o) => [o.bot, o.result]).sort()).toEqual(
      [...ids].sort().map((id) => [id, "updated"]),
    );
    for (const b of declared) {
      const answer = await waitForHttp(`http://127.0.0.1:${b.port}/health`, 5000);
      expect(JSON.parse(answer.body)).toMatchObject({ status: "ok" });
    }
    const status = parse(await remoteStatusFile(repo.bare, HOST)) as HostStatus;
    for (const id of ids) {
      expect(status.bots[id]).toMatchObject({ digest: gated.digest, state: "running" });
      expect(status.bots[id]?.last).toMatchObject({ result: "updated", to: gated.digest });
    }
  }, 90_000);
});
