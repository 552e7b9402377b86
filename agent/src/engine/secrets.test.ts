import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FleetBot } from "../model/fleet-state.ts";
import { MAX_SECRET_BYTES, readBotSecrets, SecretFileError } from "./secrets.ts";

function bot(env: FleetBot["env"], tenant = "acme"): FleetBot {
  return {
    id: "acme-main",
    tenant,
    host: "h",
    image: "ghcr.io/acme/app:managed",
    pinnedDigest: null,
    volumes: [],
    env,
    command: null,
    network: "host",
    ports: [],
    health: null,
  };
}

describe("readBotSecrets", () => {
  it("reads each fromFile under <dir>/<tenant>/, dropping one trailing newline, and never shows a value in an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleetwave-secrets-"));
    await mkdir(join(dir, "acme"));
    await mkdir(join(dir, "other"));
    await writeFile(join(dir, "acme", "API_KEY"), "sk-123\n");
    await writeFile(join(dir, "acme", "MULTI"), "line1\nline2");
    await writeFile(join(dir, "other", "THEIRS"), "their-secret");
    await writeFile(join(dir, "acme", "BIG"), "x".repeat(MAX_SECRET_BYTES + 1));
    await symlink(join(dir, "other", "THEIRS"), join(dir, "acme", "LINK"));
    const ref = (name: string, tenant = "acme") => ({ fromFile: join(dir, tenant, name) });

    expect(
      await readBotSecrets(bot({ PORT: "1", API_KEY: ref("API_KEY"), MULTI: ref("MULTI") }), dir),
    ).toEqual({ API_KEY: "sk-123", MULTI: "line1\nline2" });

    const failure = async (env: FleetBot["env"], tenant?: string) => {
      const error = await readBotSecrets(bot(env, tenant), dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SecretFileError);
      expect((error as Error).message).not.toContain("their-secret");
      return (error as Error).message;
    };
    expect(await failure({ K: ref("GONE") })).toBe(
      `bot acme-main: env K: secret file ${join(dir, "acme", "GONE")} does not exist; create it (readable by the agent only) or remove the variable`,
    );
    expect(await failure({ K: ref("THEIRS", "other") })).toContain(`is outside ${join(dir, "acme")}`);
    expect(await failure({ K: ref("LINK") })).toContain("is outside");
    expect(await failure({ K: { fromFile: "/etc/passwd" } })).toContain("is outside");
    expect(await failure({ K: ref("BIG") })).toContain("more than the 65536");
    expect(await failure({ K: { fromFile: join(dir, "acme") } })).toContain("is outside");
    expect(await failure({ K: ref("X", "nobody") }, "nobody")).toContain("secrets directory");
  });
});
