import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { registryAuth, registryHost } from "./registry-auth.ts";

describe("registry auth", () => {
  it("finds the registry host the way Docker does", () => {
    expect(registryHost("ghcr.io/acme/app")).toBe("ghcr.io");
    expect(registryHost("127.0.0.1:5055/fleetwave/bot")).toBe("127.0.0.1:5055");
    expect(registryHost("localhost/app")).toBe("localhost");
    expect(registryHost("acme/app")).toBe("docker.io");
    expect(registryHost("app")).toBe("docker.io");
  });

  it("reads credentials and identity tokens from DOCKER_CONFIG", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-docker-config-"));
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({
        auths: {
          "ghcr.io": { auth: Buffer.from("bot:s3cr:et").toString("base64") },
          "https://registry.acme.example": { identitytoken: "tok" },
        },
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    expect(await registryAuth("ghcr.io/acme/app", env)).toEqual({
      serveraddress: "ghcr.io",
      username: "bot",
      password: "s3cr:et",
    });
    expect(await registryAuth("registry.acme.example/app", env)).toEqual({
      serveraddress: "registry.acme.example",
      username: "<token>",
      password: "tok",
    });
    expect(await registryAuth("quay.io/other/app", env)).toBeUndefined();
    expect(await registryAuth("ghcr.io/acme/app", { DOCKER_CONFIG: join(dir, "missing") })).toBeUndefined();
  });
});
