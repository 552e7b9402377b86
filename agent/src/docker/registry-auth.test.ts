import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CredentialHelperError, registryAuth, registryHost } from "./registry-auth.ts";

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

  it("runs credHelpers and credsStore helpers as the Docker CLI does: `get` with the server on stdin", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-docker-config-"));
    const bin = join(dir, "bin");
    await mkdir(bin);
    // One script serves as both helpers; it records what it was asked and answers per server.
    const script = `#!/bin/sh
read -r server
echo "$(basename "$0") $1 $server" >> "${join(dir, "asked")}"
case "$server" in
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"robot","Secret":"from-helper"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"<token>","Secret":"hub-token"}' ;;
  broken.example) echo 'keychain locked'; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`;
    for (const name of ["docker-credential-acme", "docker-credential-store"])
      await writeFile(join(bin, name), script, { mode: 0o755 });
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({
        auths: { "ghcr.io": { auth: Buffer.from("file:ignored").toString("base64") } },
        credsStore: "store",
        credHelpers: { "ghcr.io": "acme" },
      }),
    );
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };

    expect(await registryAuth("ghcr.io/acme/app", env)).toEqual({
      serveraddress: "ghcr.io",
      username: "robot",
      password: "from-helper",
    });
    expect(await registryAuth("acme/app", env)).toEqual({
      serveraddress: "docker.io",
      username: "<token>",
      password: "hub-token",
    });
    expect(await registryAuth("quay.io/other/app", env)).toBeUndefined();
    await expect(registryAuth("broken.example/app", env)).rejects.toThrow(
      /docker-credential-store \(for broken.example\) exited with 1: keychain locked; check it with: echo broken.example \| docker-credential-store get/,
    );
    expect((await readFile(join(dir, "asked"), "utf8")).trim().split("\n")).toEqual([
      "docker-credential-acme get ghcr.io",
      "docker-credential-store get https://index.docker.io/v1/",
      "docker-credential-store get quay.io",
      "docker-credential-store get broken.example",
    ]);

    await expect(
      registryAuth("ghcr.io/acme/app", { DOCKER_CONFIG: dir, PATH: "/nonexistent" }),
    ).rejects.toThrow(CredentialHelperError);
  });
});
