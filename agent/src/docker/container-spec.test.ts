import { describe, expect, it } from "vitest";
import type { FleetBot } from "../model/fleet-state.ts";
import { containerCreateOptions, UnreadSecretError } from "./container-spec.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const bot: FleetBot = {
  id: "acme-main",
  tenant: "acme",
  host: "host-a",
  image: "ghcr.io/acme/app:managed",
  pinnedDigest: null,
  volumes: [
    { name: "acme-main-data", path: "/data" },
    { name: "acme-main-home", path: "/home/app" },
  ],
  env: { PORT: "3101", MODE: "hosted" },
  command: null,
  network: "bots",
  ports: ["127.0.0.1:3101:3100", "8443:443/tcp", "5353:53/udp"],
  health: null,
};

describe("containerCreateOptions", () => {
  it("pins the image by digest and labels the container", () => {
    const spec = containerCreateOptions(bot, "ghcr.io/acme/app", DIGEST, { seedVolumes: false });
    expect(spec.name).toBe("acme-main");
    expect(spec.Image).toBe(`ghcr.io/acme/app@${DIGEST}`);
    expect(spec.Labels).toEqual({
      "fleetwave.managed": "true",
      "fleetwave.bot": "acme-main",
      "fleetwave.tenant": "acme",
      "fleetwave.digest": DIGEST,
    });
    expect(spec.Env).toEqual(["PORT=3101", "MODE=hosted"]);
    expect(spec.Cmd).toBeUndefined();
    expect(spec.HostConfig?.Init).toBe(true);
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: "unless-stopped" });
  });

  it("mounts every volume, never seeding it during an update", () => {
    const update = containerCreateOptions(bot, "ghcr.io/acme/app", DIGEST, { seedVolumes: false });
    expect(update.HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "acme-main-data", Target: "/data", VolumeOptions: { NoCopy: true } },
      { Type: "volume", Source: "acme-main-home", Target: "/home/app", VolumeOptions: { NoCopy: true } },
    ]);
    const first = containerCreateOptions(bot, "ghcr.io/acme/app", DIGEST, { seedVolumes: true });
    expect(first.HostConfig?.Mounts?.[0]?.VolumeOptions).toEqual({ NoCopy: false });
  });

  it("publishes ports on loopback unless an address is given", () => {
    const spec = containerCreateOptions(bot, "ghcr.io/acme/app", DIGEST, { seedVolumes: false });
    expect(spec.HostConfig?.PortBindings).toEqual({
      "3100/tcp": [{ HostIp: "127.0.0.1", HostPort: "3101" }],
      "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }],
      "53/udp": [{ HostIp: "127.0.0.1", HostPort: "5353" }],
    });
    expect(spec.HostConfig?.NetworkMode).toBe("bots");
  });

  it("passes a command override and ignores port bindings on the host network", () => {
    const spec = containerCreateOptions(
      { ...bot, network: "host", command: ["serve", "--fast"] },
      "r",
      DIGEST,
      {
        seedVolumes: false,
      },
    );
    expect(spec.Cmd).toEqual(["serve", "--fast"]);
    expect(spec.HostConfig?.PortBindings).toEqual({});
  });

  it("puts read secrets into Env, names them in a label, and refuses a secret that was not read", () => {
    const secretBot: FleetBot = {
      ...bot,
      env: { PORT: "1", API_KEY: { fromFile: "/etc/fleetwave/secrets/acme/KEY" } },
    };
    const spec = containerCreateOptions(secretBot, "r", DIGEST, {
      seedVolumes: false,
      secrets: { API_KEY: "sk" },
    });
    expect(spec.Env).toEqual(["PORT=1", "API_KEY=sk"]);
    expect(spec.Labels?.["fleetwave.secret-env"]).toBe("API_KEY");
    expect(containerCreateOptions(bot, "r", DIGEST, { seedVolumes: false }).Labels).not.toHaveProperty(
      "fleetwave.secret-env",
    );
    expect(() => containerCreateOptions(secretBot, "r", DIGEST, { seedVolumes: false })).toThrow(
      UnreadSecretError,
    );
  });
});
