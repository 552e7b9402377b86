import { describe, expect, it } from "vitest";
import { ROLLOUT_ID, rolloutText } from "../plan/testing.ts";
import { buildFleetState } from "./fleet-state.ts";
import { MAX_FILE_BYTES } from "./limits.ts";
import { formatProblem } from "./problems.ts";

/**
 * Files that are only partly valid: the rules between files run over the valid parts, and never
 * compare with (or crash on) a part that is missing or of the wrong shape.
 */

const FLEET = `images:
  allowlist: ["ghcr.io/acme/"]
`;

/** Line 3 is the id, 4 the host, 6 the network, 7 the ports of the first bot of a tenant file. */
const bot = (id: string, { host = "host-a", network = "host", ports = "[]", url = "" } = {}) =>
  `  - id: ${id}
    host: ${host}
    image: ghcr.io/acme/app:managed
    network: ${network}
    ports: ${ports}
${url ? `    health: { url: "${url}" }\n` : ""}`;

/** A bot without an id (so its file is invalid) on host-a. */
const idless = (extra = "") => `  - host: host-a\n    image: ghcr.io/acme/app:managed\n${extra}`;

const tenant = (name: string, ...bots: string[]) => `tenant: ${name}\nbots:\n${bots.join("")}`;

const R = `rollouts/${ROLLOUT_ID}.yaml`;
/** Line 18 is the first target. */
const rollout = rolloutText;
const GHOST_TARGET = "  - { bot: ghost-bot, tenant: acme, host: host-a, wave: 1 }\n";
const GHOST = `fleet-state/${R}:18: targets[0].bot: no bot "ghost-bot" is declared in tenants/`;

const files = (texts: Record<string, string>) =>
  Object.entries(texts).map(([path, text]) => ({ path, text }));

function problems(texts: Record<string, string>): string[] {
  const result = buildFleetState(files(texts), "fleet-state/");
  return result.ok ? [] : result.problems.map(formatProblem);
}

const base = (overrides: Record<string, string> = {}) => ({
  "fleet.yaml": FLEET,
  "tenants/acme.yaml": tenant("acme", bot("acme-main")),
  ...overrides,
});

describe("files that are not a map", () => {
  it("reports a null or list document as the file's one problem", () => {
    expect(problems(base({ "fleet.yaml": "~\n" }))).toEqual([
      "fleet-state/fleet.yaml:1: (file): expected a map, got null",
    ]);
    expect(problems(base({ "tenants/beta.yaml": "~\n" }))).toEqual([
      "fleet-state/tenants/beta.yaml:1: (file): expected a map, got null",
    ]);
    expect(problems(base({ [R]: "- a\n" }))).toEqual([
      `fleet-state/${R}:1: (file): expected a map, got a list`,
    ]);
    expect(problems(base({ "status/host-a.yaml": "~\n" }))).toEqual([
      "fleet-state/status/host-a.yaml:1: (file): expected a map, got null",
    ]);
  });

  it("reports bots, volumes and targets that are not maps or lists at their own line", () => {
    expect(problems(base({ "tenants/beta.yaml": "tenant: beta\nbots:\n  - ~\n  - 3\n" }))).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0]: expected a map, got null",
      "fleet-state/tenants/beta.yaml:4: bots[1]: expected a map, got number",
    ]);
    // Two bots whose volumes are not lists share no volume: nothing is compared.
    const volumes = tenant("beta", `${bot("beta-1")}    volumes: 3\n`, `${bot("beta-2")}    volumes: 3\n`);
    expect(problems(base({ "tenants/beta.yaml": volumes }))).toEqual([
      "fleet-state/tenants/beta.yaml:8: bots[0].volumes: expected a list, got number",
      "fleet-state/tenants/beta.yaml:14: bots[1].volumes: expected a list, got number",
    ]);
    const targets = rollout("  - 3\n  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n");
    expect(problems(base({ [R]: targets }))).toEqual([
      `fleet-state/${R}:18: targets[0]: expected a map, got number`,
    ]);
  });

  it("reports only the YAML error of a rollout or status file that cannot be parsed", () => {
    expect(problems(base({ [R]: "id: [\n", "status/host-a.yaml": "host: {\n" }))).toEqual([
      `fleet-state/${R}:2: (yaml): invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      "fleet-state/status/host-a.yaml:2: (yaml): invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
    ]);
  });
});

describe("the valid items of a list with an invalid item", () => {
  it("are still checked for a volume listed twice", () => {
    const text = tenant(
      "beta",
      `${bot("beta-1")}    volumes:\n      - { name: data, path: /data }\n      - { name: data, path: /d2 }\n      - { name: -bad, path: /d3 }\n`,
    );
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      'fleet-state/tenants/beta.yaml:10: bots[0].volumes[1].name: volume "data" is listed twice for this bot',
      'fleet-state/tenants/beta.yaml:11: bots[0].volumes[2].name: volume name must start with a letter or digit and contain only letters, digits, "_", "." and "-"',
    ]);
  });

  it("are still checked for a host port published twice", () => {
    const text = tenant("beta", bot("beta-1", { network: "bots", ports: '["x", "3101:3100", "3101:3200"]' }));
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      'fleet-state/tenants/beta.yaml:7: bots[0].ports[0]: must be "[ip:]hostPort:containerPort[/tcp|udp]", e.g. 127.0.0.1:3101:3100',
      'fleet-state/tenants/beta.yaml:7: bots[0].ports[2]: host port 127.0.0.1:3101/tcp on host "host-a" is already published as 127.0.0.1:3101/tcp by this bot at fleet-state/tenants/beta.yaml:7 (bots[0].ports[1]); two containers cannot bind one port',
    ]);
  });
});

describe("targets of bots that are not declared", () => {
  it("are reported when an invalid tenant file has no bots or only bots with ids", () => {
    expect(problems(base({ "tenants/beta.yaml": "tenant: Beta\n", [R]: rollout(GHOST_TARGET) }))).toEqual([
      GHOST,
      "fleet-state/tenants/beta.yaml:1: tenant: tenant id must be lowercase letters, digits and dashes (it is also the file name)",
    ]);
    const badHost = tenant("beta", bot("beta-1", { host: "Host A" }));
    expect(problems(base({ "tenants/beta.yaml": badHost, [R]: rollout(GHOST_TARGET) }))).toEqual([
      GHOST,
      "fleet-state/tenants/beta.yaml:4: bots[0].host: host id must be lowercase letters, digits and dashes",
    ]);
  });

  it("are not reported while any bot of a tenant file has no id (it may be the one targeted)", () => {
    const text = tenant("beta", bot("beta-1"), idless());
    expect(problems(base({ "tenants/beta.yaml": text, [R]: rollout(GHOST_TARGET) }))).toEqual([
      "fleet-state/tenants/beta.yaml:8: bots[1].id: required (expected string)",
    ]);
  });
});

describe("comparisons with a part that is missing or invalid are skipped", () => {
  it("a tenant file without a tenant name: no file-name or target-tenant mismatch", () => {
    const text = `bots:\n${bot("beta-1", { host: "host-b" })}`;
    const target = "  - { bot: beta-1, tenant: gamma, host: host-a, wave: 1 }\n";
    expect(problems(base({ "tenants/beta.yaml": text, [R]: rollout(target) }))).toEqual([
      `fleet-state/${R}:18: targets[0].host: bot "beta-1" runs on host "host-b", not "host-a"`,
      "fleet-state/tenants/beta.yaml:1: tenant: required (expected string)",
    ]);
  });

  it("a bot without a host: no target-host mismatch and no port clash on an unknown host", () => {
    const noHost = "tenant: beta\nbots:\n  - id: beta-1\n    image: ghcr.io/acme/app:managed\n";
    expect(
      problems(
        base({
          "tenants/beta.yaml": noHost,
          [R]: rollout("  - { bot: beta-1, tenant: beta, host: host-a, wave: 1 }\n"),
        }),
      ),
    ).toEqual(["fleet-state/tenants/beta.yaml:3: bots[0].host: required (expected string)"]);
    const twoPorted = (id: string) =>
      `  - id: ${id}\n    image: ghcr.io/acme/app:managed\n    network: bots\n    ports: ['3101:3100']\n`;
    expect(
      problems(
        base({ "tenants/beta.yaml": `tenant: beta\nbots:\n${twoPorted("beta-1")}${twoPorted("beta-2")}` }),
      ),
    ).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0].host: required (expected string)",
      "fleet-state/tenants/beta.yaml:7: bots[1].host: required (expected string)",
    ]);
  });

  it("a bot with an invalid network: no port clash and no health URL check", () => {
    const text = tenant(
      "beta",
      bot("beta-1", { network: "Bad Net", ports: '["3101:3100"]', url: "http://10.1.2.3:80/" }),
      bot("beta-2", { network: "Bad Net", ports: '["3101:3100"]' }),
    );
    const network =
      'network name must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      `fleet-state/tenants/beta.yaml:6: bots[0].network: ${network}`,
      `fleet-state/tenants/beta.yaml:12: bots[1].network: ${network}`,
    ]);
  });

  it("a bot with an invalid health check: only that problem", () => {
    const text = tenant("beta", `${bot("beta-1", { network: "bots" })}    health: 3\n`);
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      "fleet-state/tenants/beta.yaml:8: bots[0].health: expected a map, got number",
    ]);
  });

  it("bots without ids: neither a duplicate id nor a volume owned by another bot", () => {
    expect(problems(base({ "tenants/beta.yaml": `tenant: beta\nbots:\n${idless()}${idless()}` }))).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0].id: required (expected string)",
      "fleet-state/tenants/beta.yaml:5: bots[1].id: required (expected string)",
    ]);
    const shared = "    volumes: [{ name: shared, path: /data }]\n";
    const texts = base({
      "tenants/acme.yaml": tenant("acme", `${bot("acme-main")}${shared}`),
      "tenants/beta.yaml": `tenant: beta\nbots:\n${idless(shared)}`,
    });
    expect(problems(texts)).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0].id: required (expected string)",
    ]);
  });

  it("a bot without an id that publishes a port is named by its place in the other bot's clash", () => {
    const text = `tenant: beta\nbots:\n${idless("    network: bots\n    ports: ['3101:3100']\n")}${bot("beta-2", { network: "bots", ports: '["3101:3100"]' })}`;
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0].id: required (expected string)",
      'fleet-state/tenants/beta.yaml:11: bots[1].ports[0]: host port 127.0.0.1:3101/tcp on host "host-a" is already published as 127.0.0.1:3101/tcp by bot "#1 of fleet-state/tenants/beta.yaml" at fleet-state/tenants/beta.yaml:6 (bots[0].ports[0]); two containers cannot bind one port',
    ]);
  });

  it("a status file without a host: only the required field, no file-name mismatch", () => {
    expect(problems(base({ "status/host-a.yaml": "updatedAt: 2026-11-27T06:20:00Z\n" }))).toEqual([
      "fleet-state/status/host-a.yaml:1: host: required (expected string)",
      "fleet-state/status/host-a.yaml:1: observedCommit: required (expected string)",
    ]);
  });

  it("a status file with other errors still has its host compared with its file name", () => {
    expect(problems(base({ "status/host-a.yaml": "host: host-b\nupdatedAt: never\n" }))).toEqual([
      'fleet-state/status/host-a.yaml:1: host: must equal the file name "host-a"',
      "fleet-state/status/host-a.yaml:1: observedCommit: required (expected string)",
      "fleet-state/status/host-a.yaml:2: updatedAt: must be an ISO 8601 time such as 2026-11-27T06:12:00Z",
    ]);
  });
});

describe("places named in problems", () => {
  it("names the first bot with a duplicate id by the line of its id, not of its item", () => {
    const first = "  - host: host-b\n    id: beta-1\n    image: ghcr.io/acme/app:managed\n";
    const text = tenant("beta", first, bot("beta-1", { host: "host-b" }));
    expect(problems(base({ "tenants/beta.yaml": text }))).toEqual([
      'fleet-state/tenants/beta.yaml:6: bots[1].id: "beta-1" is already declared at fleet-state/tenants/beta.yaml:4; bot ids are container names and must be unique across the fleet',
    ]);
  });

  it("calls the file first in path order the first declaration, whatever order the files come in", () => {
    const texts = {
      "tenants/zeta.yaml": tenant("zeta", bot("acme-main", { host: "host-b" })),
      "tenants/acme.yaml": tenant("acme", bot("acme-main")),
      "fleet.yaml": FLEET,
    };
    expect(problems(texts)).toEqual([
      'fleet-state/tenants/zeta.yaml:3: bots[0].id: "acme-main" is already declared at fleet-state/tenants/acme.yaml:3; bot ids are container names and must be unique across the fleet',
    ]);
  });

  it("names files as given when there is no display prefix", () => {
    const result = buildFleetState(files({ "fleet.yaml": FLEET, "tenants/beta.yaml": "tenant: Beta\n" }));
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      "tenants/beta.yaml:1: tenant: tenant id must be lowercase letters, digits and dashes (it is also the file name)",
    ]);
  });

  it("quotes the whole file name without its last extension in a name mismatch", () => {
    const status = "host: host-a\nobservedCommit: abc1234\nupdatedAt: 2026-11-27T06:20:00Z\n";
    expect(problems(base({ "status/host-a.yml.yaml": status }))).toEqual([
      'fleet-state/status/host-a.yml.yaml:1: host: must equal the file name "host-a.yml"',
    ]);
  });
});

describe("the built state", () => {
  it("lists every host once, sorted", () => {
    const result = buildFleetState(
      files(
        base({
          "tenants/alpha.yaml": tenant("alpha", bot("alpha-1", { host: "host-c" }), bot("alpha-2")),
          "tenants/beta.yaml": tenant("beta", bot("beta-1", { host: "host-b" })),
        }),
      ),
    );
    expect(result.ok && result.state.hosts).toEqual(["host-a", "host-b", "host-c"]);
  });

  it("takes a file of exactly the size limit", () => {
    const text = tenant("beta", bot("beta-1"));
    const padded = `${text}#${"x".repeat(MAX_FILE_BYTES - Buffer.byteLength(text) - 2)}\n`;
    expect(Buffer.byteLength(padded)).toBe(MAX_FILE_BYTES);
    expect(problems(base({ "tenants/beta.yaml": padded }))).toEqual([]);
  });
});
