import type { ContainerInspectInfo, ImageInspectInfo } from "dockerode";
import { describe, expect, it } from "vitest";
import { importContainer, isSecretName, tenantIdFor } from "./import-spec.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

function image(over: Partial<ImageInspectInfo["Config"]> = {}): ImageInspectInfo {
  return {
    RepoTags: ["ghcr.io/acme/app:managed"],
    RepoDigests: [`ghcr.io/acme/app@${DIGEST}`],
    Config: { Env: ["PATH=/bin"], Cmd: ["serve"], Entrypoint: null, User: "", WorkingDir: "", ...over },
  } as unknown as ImageInspectInfo;
}

/** What the Engine says about a container, with the fields import reads. */
function container(
  config: Partial<ContainerInspectInfo["Config"]> = {},
  host: Partial<ContainerInspectInfo["HostConfig"]> = {},
  mounts: ContainerInspectInfo["Mounts"] = [],
): ContainerInspectInfo {
  return {
    Name: "/acme-main",
    Image: "sha256:imageid",
    Mounts: mounts,
    Config: {
      Image: "ghcr.io/acme/app:managed",
      Env: ["PATH=/bin", "MODE=prod"],
      Cmd: ["serve"],
      Entrypoint: null,
      User: "",
      WorkingDir: "",
      Labels: {},
      ...config,
    },
    HostConfig: {
      NetworkMode: "bridge",
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      PortBindings: {},
      ...host,
    },
  } as unknown as ContainerInspectInfo;
}

describe("importContainer", () => {
  it("describes a plain container completely and without problems", () => {
    const result = importContainer(
      container(
        {},
        {
          PortBindings: {
            "3100/tcp": [{ HostIp: "127.0.0.1", HostPort: "3101" }],
            "53/udp": [{ HostIp: "", HostPort: "5353" }],
          },
        },
        [
          {
            Type: "volume",
            Name: "acme-data",
            Source: "/var/lib/docker/volumes/acme-data/_data",
            Destination: "/data",
          } as ContainerInspectInfo["Mounts"][number],
        ],
      ),
      image(),
      "host-a",
    );
    expect(result.problems).toEqual([]);
    expect(result.notes).toContain(
      `runs ${DIGEST} and stays on it until the first rollout plan of ghcr.io/acme/app:managed`,
    );
    expect(result.bot).toEqual({
      id: "acme-main",
      host: "host-a",
      image: "ghcr.io/acme/app:managed",
      pinnedDigest: null,
      volumes: [{ name: "acme-data", path: "/data" }],
      env: { MODE: "prod" }, // PATH is the image's own
      command: null,
      network: "bridge",
      ports: ["127.0.0.1:3101:3100", "0.0.0.0:5353:53/udp"],
      health: null,
    });
  });

  it("leaves secrets out with a note and keeps a command that differs from the image's", () => {
    const result = importContainer(
      container({
        Env: ["API_TOKEN=t", "DB_PASSWORD=p", "GITHUB_KEY=k", "KEYBOARD=us"],
        Cmd: ["serve", "--debug"],
      }),
      image(),
      "host-a",
    );
    expect(result.bot.env).toEqual({ KEYBOARD: "us" });
    expect(result.bot.command).toEqual(["serve", "--debug"]);
    expect(result.notes.filter((n) => n.includes("set it from a file on the host"))).toHaveLength(3);
  });

  it("lists what a tenant file cannot say as problems instead of dropping it", () => {
    const result = importContainer(
      container(
        { Healthcheck: { Test: ["CMD", "true"] }, Entrypoint: ["/init"], User: "1000" },
        {
          RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
          Privileged: true,
          NetworkMode: "container:other",
        },
        [
          {
            Type: "bind",
            Source: "/srv/acme",
            Destination: "/config",
          } as ContainerInspectInfo["Mounts"][number],
        ],
      ),
      image(),
      "host-a",
    );
    const text = result.problems.join("\n");
    for (const expected of [
      "bind mount of /srv/acme at /config",
      '"always"',
      "own health check",
      "ENTRYPOINT",
      "privileged",
      "user 1000",
      "network of other",
    ])
      expect(text).toContain(expected);
    expect(result.bot.volumes).toEqual([]);
  });

  it("names the image by tag when the container was started by digest, and says when no digest is known", () => {
    const byDigest = importContainer(container({ Image: `ghcr.io/acme/app@${DIGEST}` }), image(), "host-a");
    expect(byDigest.bot.image).toBe("ghcr.io/acme/app:latest");
    const local = importContainer(
      container({ Image: "app" }),
      { ...image(), RepoTags: ["app:latest"], RepoDigests: [] },
      "host-a",
    );
    expect(local.bot.image).toBe("app:latest");
    expect(local.bot.pinnedDigest).toBeNull();
    expect(local.problems.join("\n")).toContain("no registry digest");
  });

  it("notes that the image's HEALTHCHECK gates updates", () => {
    const result = importContainer(container(), image({ Healthcheck: { Test: ["CMD", "true"] } }), "host-a");
    expect(result.problems).toEqual([]);
    expect(result.notes.join("\n")).toContain("HEALTHCHECK gates updates");
  });
});

it("tells secret-looking env names and makes tenant ids from container names", () => {
  expect(["SESSION_SECRET", "api_key", "SSH_KEY", "PGPASSWORD", "SENTRY_DSN"].every(isSecretName)).toBe(true);
  expect(["MODE", "PORT", "KEYBOARD", "MONKEY"].some(isSecretName)).toBe(false);
  expect(tenantIdFor("Acme_Main.1")).toBe("acme-main-1");
  expect(tenantIdFor("__")).toBe("imported");
});
