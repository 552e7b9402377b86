import type { ContainerInspectInfo } from "dockerode";
import { describe, expect, it } from "vitest";
import type { FleetBot } from "../model/fleet-state.ts";
import { containerCreateOptions } from "./container-spec.ts";
import { containerDrift } from "./drift.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;
const bot = {
  id: "acme-main",
  tenant: "acme",
  host: "host-a",
  image: "ghcr.io/acme/bot:managed",
  pinnedDigest: null,
  volumes: [{ name: "acme-data", path: "/data" }],
  env: { PORT: "3100", SECRET: "s3cret" },
  command: null,
  network: "bridge",
  ports: ["127.0.0.1:3101:3100"],
  health: { url: "http://127.0.0.1:3101/health", expectStatus: 200 },
} as unknown as FleetBot;
const image = { env: ["LANG=C"], cmd: ["serve"], labels: { "org.acme.version": "1" } };
const want = containerCreateOptions(bot, "ghcr.io/acme/bot", DIGEST, { seedVolumes: false });

/** A container exactly as Fleetwave creates it, as the Engine reports it back. */
function asCreated(): ContainerInspectInfo {
  return {
    Config: {
      Image: want.Image,
      Env: [...(want.Env ?? []), "LANG=C", "PATH=/usr/bin:/bin"],
      Cmd: ["serve"],
      Labels: { ...want.Labels, "org.acme.version": "1" },
    },
    HostConfig: { PortBindings: { "3100/tcp": [{ HostIp: "127.0.0.1", HostPort: "3101" }] } },
    Mounts: [{ Type: "volume", Name: "acme-data", Destination: "/data" }],
  } as unknown as ContainerInspectInfo;
}

describe("containerDrift", () => {
  it("finds nothing in a container as Fleetwave made it, with what the image and the Engine add", () => {
    expect(containerDrift(want, asCreated(), image)).toEqual([]);
  });

  it("names each hand-made change, never an env value", () => {
    const c = asCreated();
    c.Config.Image = `ghcr.io/acme/bot@sha256:${"b".repeat(64)}`;
    c.Config.Env = ["PORT=3100", "SECRET=changed", "DEBUG=1", "LANG=C"];
    c.Config.Cmd = ["sh"];
    c.Config.Labels = { ...c.Config.Labels, "fleetwave.tenant": "other", extra: "x" };
    c.HostConfig.PortBindings = { "3100/tcp": [{ HostIp: "0.0.0.0", HostPort: "3101" }] };
    (c as { Mounts: unknown[] }).Mounts = [
      { Type: "volume", Name: "acme-data", Destination: "/data" },
      { Type: "bind", Source: "/etc", Destination: "/host-etc" },
    ];
    const diffs = containerDrift(want, c, image);
    expect(diffs).toEqual([
      `image is ghcr.io/acme/bot@sha256:${"b".repeat(64)}, fleet-state says ghcr.io/acme/bot@${DIGEST}`,
      "env SECRET differs from fleet-state",
      "env DEBUG is not in fleet-state",
      'command is ["sh"], fleet-state says ["serve"]',
      "ports are [0.0.0.0:3101->3100/tcp], fleet-state says [127.0.0.1:3101->3100/tcp]",
      "volumes are [acme-data:/data, bind /host-etc], fleet-state says [acme-data:/data]",
      "label fleetwave.tenant is other, fleet-state says acme",
      "label extra is not in fleet-state",
    ]);
    expect(diffs.join("\n")).not.toContain("s3cret");
    expect(diffs.join("\n")).not.toContain("changed");
  });

  it("notices a removed env var and a missing volume", () => {
    const c = asCreated();
    c.Config.Env = ["PORT=3100", "LANG=C"];
    (c as { Mounts: unknown[] }).Mounts = [];
    expect(containerDrift(want, c, image)).toEqual([
      "env SECRET is missing",
      "volumes are [], fleet-state says [acme-data:/data]",
    ]);
  });
});
