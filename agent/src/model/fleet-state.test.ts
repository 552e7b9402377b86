import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rolloutText } from "../plan/testing.ts";
import { buildFleetState, type StateFile } from "./fleet-state.ts";
import { generateJsonSchemas } from "./json-schema.ts";
import { loadFleetState } from "./load.ts";
import { formatGithubAnnotation, formatProblem } from "./problems.ts";

const FLEET = `updates:
  mode: auto
  windowMinutes: 60
images:
  allowlist: ["ghcr.io/acme/"]
`;

const TENANT = `tenant: acme
update:
  mode: auto
  preferredHourUtc: 3
contacts: [owner@acme.example]
bots:
  - id: acme-main
    host: host-a
    image: ghcr.io/acme/app:managed
    volumes:
      - { name: acme-main-data, path: /data }
      - { name: acme-main-home, path: /home/app }
    health:
      url: http://127.0.0.1:3101/health
`;

const DIGEST = `sha256:${"3f2a9c1b".padEnd(64, "0")}`;
const ROLLOUT = rolloutText("  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n");

const STATUS = `host: host-a
observedCommit: abc1234
updatedAt: 2026-11-27T06:20:00Z
bots:
  acme-main:
    digest: ${DIGEST}
    state: running
`;

function fleetWith(overrides: Record<string, string | null>): StateFile[] {
  const files: Record<string, string | null> = {
    "fleet.yaml": FLEET,
    "tenants/acme.yaml": TENANT,
    "rollouts/2026-11-27T0612Z-3f2a9c1b.yaml": ROLLOUT,
    "status/host-a.yaml": STATUS,
    ...overrides,
  };
  return Object.entries(files)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([path, text]) => ({ path, text }));
}

function problemsOf(overrides: Record<string, string | null>): string[] {
  const result = buildFleetState(fleetWith(overrides), "fleet-state/");
  return result.ok ? [] : result.problems.map(formatProblem);
}

/** Replace exactly one occurrence, so a typo in a test cannot silently leave the input valid. */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, `"${from}" must occur exactly once`).toBe(1);
  return text.replace(from, to);
}

const T = "tenants/acme.yaml";
const R = "rollouts/2026-11-27T0612Z-3f2a9c1b.yaml";
const S = "status/host-a.yaml";

/** [name, file overrides, expected "file:line: field: " prefix, expected message fragment] */
const badInputs: [string, Record<string, string | null>, string, string][] = [
  // YAML itself
  [
    "broken YAML syntax",
    { [T]: edit(TENANT, "contacts: [owner@acme.example]", "contacts: [owner@acme.example") },
    `fleet-state/${T}:`,
    "invalid YAML",
  ],
  [
    "duplicate key",
    { [T]: edit(TENANT, "  preferredHourUtc: 3\n", "  preferredHourUtc: 3\n  mode: manual\n") },
    `fleet-state/${T}:5: (yaml): `,
    "duplicate key",
  ],
  [
    "a list instead of a map",
    { [T]: "- tenant: acme\n" },
    `fleet-state/${T}:1: (file): `,
    "expected a map, got a list",
  ],
  ["an empty file", { [T]: "" }, `fleet-state/${T}:1: (file): `, "empty"],
  [
    "an alias to an unknown anchor",
    { [T]: `${TENANT}    env: *nowhere\n` },
    `fleet-state/${T}:1: (yaml): `,
    "invalid YAML",
  ],
  [
    "a comment-only file",
    { "fleet.yaml": "# nothing here\n" },
    "fleet-state/fleet.yaml:1: (file): ",
    "empty",
  ],
  [
    "a scalar file",
    { "fleet.yaml": "hello\n" },
    "fleet-state/fleet.yaml:1: (file): ",
    "expected a map, got string",
  ],
  ["missing fleet.yaml", { "fleet.yaml": null }, "fleet-state/fleet.yaml:1: (file): ", "missing"],
  [
    "a non-yaml file in tenants/",
    { "tenants/notes.txt": "hi" },
    "fleet-state/tenants/notes.txt:1: (file): ",
    "end in .yaml",
  ],
  // fleet.yaml
  [
    "unknown key in fleet.yaml",
    { "fleet.yaml": `${FLEET}colour: blue\n` },
    "fleet-state/fleet.yaml:6: colour: ",
    "unknown field",
  ],
  [
    "unknown nested key in fleet.yaml",
    { "fleet.yaml": edit(FLEET, "  mode: auto\n", "  mode: auto\n  moed: manual\n") },
    "fleet-state/fleet.yaml:3: updates.moed: ",
    "unknown field",
  ],
  [
    "bad fleet mode",
    { "fleet.yaml": edit(FLEET, "mode: auto", "mode: sometimes") },
    "fleet-state/fleet.yaml:2: updates.mode: ",
    '"auto", "manual", "paused"',
  ],
  [
    "windowMinutes 0",
    { "fleet.yaml": edit(FLEET, "windowMinutes: 60", "windowMinutes: 0") },
    "fleet-state/fleet.yaml:3: updates.windowMinutes: ",
    "from 1 to 1440",
  ],
  [
    "windowMinutes 1441",
    { "fleet.yaml": edit(FLEET, "windowMinutes: 60", "windowMinutes: 1441") },
    "fleet-state/fleet.yaml:3: updates.windowMinutes: ",
    "from 1 to 1440",
  ],
  [
    "default hour 24",
    { "fleet.yaml": `${FLEET.replace("updates:\n", "updates:\n  defaultPreferredHourUtc: 24\n")}` },
    "fleet-state/fleet.yaml:2: updates.defaultPreferredHourUtc: ",
    "0 to 23",
  ],
  [
    "batchPercent 0",
    { "fleet.yaml": `${FLEET}strategy:\n  batchPercent: 0\n` },
    "fleet-state/fleet.yaml:7: strategy.batchPercent: ",
    "at least 1",
  ],
  [
    "batchPercent 101",
    { "fleet.yaml": `${FLEET}strategy:\n  batchPercent: 101\n` },
    "fleet-state/fleet.yaml:7: strategy.batchPercent: ",
    "at most 100",
  ],
  [
    "strategy name unknown",
    { "fleet.yaml": `${FLEET}strategy:\n  name: yolo\n` },
    "fleet-state/fleet.yaml:7: strategy.name: ",
    '"rolling-wave", "immediate", "single-bot"',
  ],
  [
    "maxParallel as a string",
    { "fleet.yaml": `${FLEET}strategy:\n  maxParallel: "4"\n` },
    "fleet-state/fleet.yaml:7: strategy.maxParallel: ",
    "expected number, got string",
  ],
  [
    "empty allowlist",
    { "fleet.yaml": edit(FLEET, '["ghcr.io/acme/"]', "[]") },
    "fleet-state/fleet.yaml:5: images.allowlist: ",
    "at least one image prefix",
  ],
  [
    "images missing",
    { "fleet.yaml": "updates:\n  mode: auto\n" },
    "fleet-state/fleet.yaml:1: images: ",
    "required",
  ],
  [
    "webhook with a bad URL",
    {
      "fleet.yaml": `${FLEET}notifications:\n  webhooks:\n    - { url: "ftp://x.example/", events: [rollout.aborted] }\n`,
    },
    "fleet-state/fleet.yaml:8: notifications.webhooks[0].url: ",
    "http:// or https://",
  ],
  [
    "webhook with an unknown event",
    {
      "fleet.yaml": `${FLEET}notifications:\n  webhooks:\n    - url: https://x.example/\n      events: [bot.exploded]\n`,
    },
    "fleet-state/fleet.yaml:9: notifications.webhooks[0].events[0]: ",
    "must be one of",
  ],
  [
    "admin not an email",
    { "fleet.yaml": `${FLEET}notifications:\n  email: { from: fleet@acme.example, admins: [ops] }\n` },
    "fleet-state/fleet.yaml:7: notifications.email.admins[0]: ",
    "email address",
  ],
  // tenants
  [
    "tenant name differs from file name",
    { [T]: edit(TENANT, "tenant: acme", "tenant: acme-corp") },
    `fleet-state/${T}:1: tenant: `,
    'file name "acme"',
  ],
  [
    "tenant mode paused",
    { [T]: edit(TENANT, "mode: auto", "mode: paused") },
    `fleet-state/${T}:3: update.mode: `,
    '"auto", "manual"',
  ],
  [
    "preferred hour 24",
    { [T]: edit(TENANT, "preferredHourUtc: 3", "preferredHourUtc: 24") },
    `fleet-state/${T}:4: update.preferredHourUtc: `,
    "0 to 23",
  ],
  [
    "preferred hour -1",
    { [T]: edit(TENANT, "preferredHourUtc: 3", "preferredHourUtc: -1") },
    `fleet-state/${T}:4: update.preferredHourUtc: `,
    "0 to 23",
  ],
  [
    "preferred hour 2.5",
    { [T]: edit(TENANT, "preferredHourUtc: 3", "preferredHourUtc: 2.5") },
    `fleet-state/${T}:4: update.preferredHourUtc: `,
    "whole number",
  ],
  [
    "contact not an email",
    { [T]: edit(TENANT, "[owner@acme.example]", "[owner]") },
    `fleet-state/${T}:5: contacts[0]: `,
    "email address",
  ],
  [
    "unknown bot key",
    { [T]: edit(TENANT, "    host: host-a\n", "    host: host-a\n    replicas: 2\n") },
    `fleet-state/${T}:9: bots[0].replicas: `,
    "unknown field",
  ],
  [
    "bot id not a container name",
    { [T]: edit(TENANT, "id: acme-main", "id: acme/main") },
    `fleet-state/${T}:7: bots[0].id: `,
    "letters, digits",
  ],
  [
    "bot id too short",
    { [T]: edit(TENANT, "id: acme-main", "id: a") },
    `fleet-state/${T}:7: bots[0].id: `,
    "at least 2",
  ],
  [
    "bot without host",
    { [T]: edit(TENANT, "    host: host-a\n", "") },
    `fleet-state/${T}:7: bots[0].host: `,
    "required",
  ],
  [
    "image with a digest",
    { [T]: edit(TENANT, "image: ghcr.io/acme/app:managed", `image: ghcr.io/acme/app@${DIGEST}`) },
    `fleet-state/${T}:9: bots[0].image: `,
    "without a digest",
  ],
  [
    "image without a tag",
    { [T]: edit(TENANT, "image: ghcr.io/acme/app:managed", "image: ghcr.io/acme/app") },
    `fleet-state/${T}:9: bots[0].image: `,
    "repository:tag",
  ],
  [
    "image in upper case",
    { [T]: edit(TENANT, "image: ghcr.io/acme/app:managed", "image: ghcr.io/Acme/app:managed") },
    `fleet-state/${T}:9: bots[0].image: `,
    "repository:tag",
  ],
  [
    "image outside the allowlist",
    { [T]: edit(TENANT, "image: ghcr.io/acme/app:managed", "image: docker.io/evil/app:latest") },
    `fleet-state/${T}:9: bots[0].image: `,
    "not allowed",
  ],
  [
    "image in a look-alike namespace of the allowlist",
    { [T]: edit(TENANT, "image: ghcr.io/acme/app:managed", "image: ghcr.io/acme-evil/app:managed") },
    `fleet-state/${T}:9: bots[0].image: `,
    '"ghcr.io/acme-evil/app:managed" is not allowed',
  ],
  [
    "pinned digest too short",
    { [T]: edit(TENANT, "    volumes:\n", "    pinnedDigest: sha256:abc\n    volumes:\n") },
    `fleet-state/${T}:10: bots[0].pinnedDigest: `,
    "64 lowercase hex",
  ],
  [
    "pinned digest not sha256",
    { [T]: edit(TENANT, "    volumes:\n", `    pinnedDigest: md5:${"a".repeat(64)}\n    volumes:\n`) },
    `fleet-state/${T}:10: bots[0].pinnedDigest: `,
    "sha256:",
  ],
  [
    "volume name invalid",
    { [T]: edit(TENANT, "name: acme-main-data", "name: -data") },
    `fleet-state/${T}:11: bots[0].volumes[0].name: `,
    "letters, digits",
  ],
  [
    "volume name twice",
    { [T]: edit(TENANT, "name: acme-main-home", "name: acme-main-data") },
    `fleet-state/${T}:12: bots[0].volumes[1].name: `,
    "listed twice",
  ],
  [
    "mount path twice",
    { [T]: edit(TENANT, "path: /home/app", "path: /data") },
    `fleet-state/${T}:12: bots[0].volumes[1].path: `,
    "used twice",
  ],
  [
    "mount path relative",
    { [T]: edit(TENANT, "path: /data", "path: data") },
    `fleet-state/${T}:11: bots[0].volumes[0].path: `,
    "absolute",
  ],
  [
    "mount path not normalised",
    { [T]: edit(TENANT, "path: /data", "path: /data/../etc") },
    `fleet-state/${T}:11: bots[0].volumes[0].path: `,
    "absolute, normalised",
  ],
  [
    "health URL not http",
    { [T]: edit(TENANT, "url: http://127.0.0.1:3101/health", "url: file:///etc/passwd") },
    `fleet-state/${T}:14: bots[0].health.url: `,
    "http:// or https://",
  ],
  [
    "health expectStatus out of range",
    { [T]: `${TENANT}      expectStatus: 700\n` },
    `fleet-state/${T}:15: bots[0].health.expectStatus: `,
    "100 to 599",
  ],
  [
    "port without container port",
    { [T]: `${TENANT}    ports: ["3101"]\n` },
    `fleet-state/${T}:15: bots[0].ports[0]: `,
    "hostPort:containerPort",
  ],
  [
    "env value a number",
    { [T]: `${TENANT}    env: { PORT: 3101 }\n` },
    `fleet-state/${T}:15: bots[0].env.PORT: `,
    "expected a string, or { fromFile:",
  ],
  [
    "env secret path not absolute",
    { [T]: `${TENANT}    env: { API_KEY: { fromFile: "secrets/API_KEY" } }\n` },
    `fleet-state/${T}:15: bots[0].env.API_KEY.fromFile: `,
    "fromFile must be an absolute, normalised file path",
  ],
  [
    "bots is a map",
    { [T]: "tenant: acme\nbots:\n  acme-main: {}\n" },
    `fleet-state/${T}:2: bots: `,
    "expected a list, got object",
  ],
  [
    "bot id used by two tenants",
    {
      "tenants/beta.yaml":
        "tenant: beta\nbots:\n  - id: acme-main\n    host: host-b\n    image: ghcr.io/acme/app:managed\n",
    },
    "fleet-state/tenants/beta.yaml:3: bots[0].id: ",
    `already declared at fleet-state/${T}:7`,
  ],
  [
    "volume shared by two bots",
    {
      "tenants/beta.yaml":
        "tenant: beta\nbots:\n  - id: beta-1\n    host: host-b\n    image: ghcr.io/acme/app:managed\n    volumes: [{ name: acme-main-data, path: /data }]\n",
    },
    "fleet-state/tenants/beta.yaml:6: bots[0].volumes[0].name: ",
    'already belongs to bot "acme-main"',
  ],
  // rollouts
  [
    "rollout file name differs from id",
    { [R]: null, "rollouts/other.yaml": ROLLOUT },
    "fleet-state/rollouts/other.yaml:1: id: ",
    'file name "other"',
  ],
  [
    "rollout id malformed",
    { [R]: edit(ROLLOUT, "id: 2026-11-27T0612Z-3f2a9c1b", "id: tuesday") },
    `fleet-state/${R}:1: id: `,
    "first 8 hex",
  ],
  [
    "rollout id does not match the digest",
    { [R]: edit(ROLLOUT, `digest: ${DIGEST}`, `digest: sha256:${"a".repeat(64)}`) },
    `fleet-state/${R}:1: id: `,
    '"-aaaaaaaa"',
  ],
  [
    "rollout digest malformed",
    { [R]: edit(ROLLOUT, `digest: ${DIGEST}`, "digest: sha256:XYZ") },
    `fleet-state/${R}:5: digest: `,
    "64 lowercase hex",
  ],
  [
    "rollout createdAt not a time",
    { [R]: edit(ROLLOUT, "createdAt: 2026-11-27T06:12:00Z", "createdAt: yesterday") },
    `fleet-state/${R}:2: createdAt: `,
    "ISO 8601",
  ],
  [
    "rollout strategy incomplete",
    { [R]: edit(ROLLOUT, "  minHealthySeconds: 10\n", "") },
    `fleet-state/${R}:6: strategy.minHealthySeconds: `,
    "required",
  ],
  [
    "rollout control state unknown",
    { [R]: edit(ROLLOUT, "control: { state: active }", "control: { state: running }") },
    `fleet-state/${R}:16: control.state: `,
    '"active", "paused", "aborted"',
  ],
  [
    "rollout target bot unknown",
    { [R]: edit(ROLLOUT, "bot: acme-main", "bot: ghost-bot") },
    `fleet-state/${R}:18: targets[0].bot: `,
    'no bot "ghost-bot"',
  ],
  [
    "rollout target on the wrong host",
    { [R]: edit(ROLLOUT, "host: host-a", "host: host-z") },
    `fleet-state/${R}:18: targets[0].host: `,
    'runs on host "host-a"',
  ],
  [
    "rollout target of the wrong tenant",
    { [R]: edit(ROLLOUT, "tenant: acme,", "tenant: beta,") },
    `fleet-state/${R}:18: targets[0].tenant: `,
    'belongs to tenant "acme"',
  ],
  [
    "rollout target wave 0",
    { [R]: edit(ROLLOUT, "wave: 1", "wave: 0") },
    `fleet-state/${R}:18: targets[0].wave: `,
    "numbered from 1",
  ],
  [
    "rollout targeting a bot twice",
    { [R]: `${ROLLOUT}  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n` },
    `fleet-state/${R}:19: targets[1].bot: `,
    'bot "acme-main" is targeted twice (first at line 18, targets[0])',
  ],
  [
    "rollout image with the allowlist prefix further down its path",
    { [R]: edit(ROLLOUT, "image: ghcr.io/acme/app:managed", "image: evil.io/ghcr.io/acme/app:managed") },
    `fleet-state/${R}:4: image: `,
    "not allowed",
  ],
  [
    "rollout image outside the allowlist",
    { [R]: edit(ROLLOUT, "image: ghcr.io/acme/app:managed", "image: ghcr.io/other/app:managed") },
    `fleet-state/${R}:4: image: `,
    "not allowed",
  ],
  // status
  [
    "status host differs from file name",
    { [S]: edit(STATUS, "host: host-a", "host: host-b") },
    `fleet-state/${S}:1: host: `,
    'file name "host-a"',
  ],
  [
    "status bot state unknown",
    { [S]: edit(STATUS, "state: running", "state: happy") },
    `fleet-state/${S}:7: bots.acme-main.state: `,
    '"running", "updating"',
  ],
  [
    "status unknown key",
    { [S]: `${STATUS}    mood: good\n` },
    `fleet-state/${S}:8: bots.acme-main.mood: `,
    "unknown field",
  ],
];

describe("fleet-state validation", () => {
  it("accepts the base fleet used by the bad inputs below", () => {
    expect(problemsOf({})).toEqual([]);
  });

  it("has at least 40 bad inputs", () => {
    expect(badInputs.length).toBeGreaterThanOrEqual(40);
  });

  it.each(badInputs)("rejects %s", (_name, overrides, prefix, fragment) => {
    const problems = problemsOf(overrides);
    const match = problems.find((p) => p.startsWith(prefix));
    expect(match, `expected a problem starting with "${prefix}", got:\n${problems.join("\n")}`).toBeDefined();
    expect(match).toContain(fragment);
  });

  it("reports every problem, not just the first", () => {
    const tenant = edit(
      edit(TENANT, "preferredHourUtc: 3", "preferredHourUtc: 99"),
      "path: /data",
      "path: data",
    );
    const fleet = `${FLEET}colour: blue\n`;
    const problems = problemsOf({ [T]: tenant, "fleet.yaml": fleet });
    expect(problems).toEqual([
      "fleet-state/fleet.yaml:6: colour: unknown field",
      `fleet-state/${T}:4: update.preferredHourUtc: must be an hour from 0 to 23`,
      `fleet-state/${T}:11: bots[0].volumes[0].path: mount path must be an absolute, normalised path other than "/", e.g. /data`,
    ]);
  });

  it("formats problems as GitHub annotations", () => {
    const annotation = formatGithubAnnotation({
      file: "fleet-state/a.yaml",
      line: 3,
      field: "x.y",
      message: "bad, really: 100%",
    });
    expect(annotation).toBe("::error file=fleet-state/a.yaml,line=3,title=x.y::bad, really: 100%25");
  });

  it("fills in defaults and ties each bot to its tenant", () => {
    const result = buildFleetState(fleetWith({}));
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
    expect(result.state.fleet.strategy.batchPercent).toBe(25);
    expect(result.state.bots[0]).toMatchObject({
      id: "acme-main",
      tenant: "acme",
      network: "host",
      pinnedDigest: null,
    });
    expect(result.state.hosts).toEqual(["host-a"]);
  });
});

describe("the repository's own fleet-state", () => {
  const dir = join(import.meta.dirname, "../../../fleet-state");

  it("is a valid sample fleet of at least 3 tenants, 2 hosts and 6 bots", async () => {
    const result = await loadFleetState(dir);
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
    const { tenants, hosts, bots } = result.state;
    expect(tenants.length).toBeGreaterThanOrEqual(3);
    expect(hosts.length).toBeGreaterThanOrEqual(2);
    expect(bots.length).toBeGreaterThanOrEqual(6);
    expect(tenants.some((t) => t.update.mode === "manual")).toBe(true);
    const autoHours = new Set(
      tenants.filter((t) => t.update.mode === "auto").map((t) => t.update.preferredHourUtc),
    );
    expect(autoHours.size).toBeGreaterThanOrEqual(2);
  });

  it("has JSON Schemas that match the zod schemas (run `npx fleetwave schema` when this fails)", async () => {
    for (const [name, text] of generateJsonSchemas()) {
      expect(await readFile(join(dir, "schema", name), "utf8"), `fleet-state/schema/${name} is stale`).toBe(
        text,
      );
    }
  });
});

describe("fleet-state validation: a rollout with missing fields", () => {
  it("reports only the missing fields, not comparisons with values that are not there", () => {
    const rollout = edit(
      edit(edit(ROLLOUT, "id: 2026-11-27T0612Z-3f2a9c1b\n", ""), "image: ghcr.io/acme/app:managed\n", ""),
      "  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n",
      "  - { bot: acme-main, wave: 1 }\n  - { tenant: acme, host: host-a, wave: 1 }\n",
    );
    const problems = problemsOf({ [R]: rollout });
    expect(problems.length).toBeGreaterThan(0);
    expect(
      problems.filter((p) => /must equal the file name|belongs to tenant|runs on host|no bot/.test(p)),
    ).toEqual([]);
    expect(problems).toContainEqual(expect.stringMatching(/targets\[0\]\.tenant: /));
    expect(problems).toContainEqual(expect.stringMatching(/targets\[1\]\.bot: /));
  });

  it("points a twice-targeted bot at the line of the first one's bot field", () => {
    const rollout = edit(
      ROLLOUT,
      "  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n",
      "  - tenant: acme\n    bot: acme-main\n    host: host-a\n    wave: 1\n  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n",
    );
    expect(problemsOf({ [R]: rollout })).toContainEqual(
      expect.stringContaining('bot "acme-main" is targeted twice (first at line 19, targets[0])'),
    );
  });
});

describe("fleet-state validation: which files are read", () => {
  it("ignores files outside tenants/, rollouts/ and status/, whatever their extension", () => {
    expect(
      problemsOf({ "README.md": "# fleet", "docs/notes.txt": "x", "schema/tenant.schema.json": "{}" }),
    ).toEqual([]);
  });

  it("lists the whole allowlist when an image is outside it", () => {
    const fleet = edit(FLEET, '["ghcr.io/acme/"]', '["ghcr.io/acme/", "ghcr.io/other/"]');
    const tenant = edit(TENANT, "image: ghcr.io/acme/app:managed", "image: docker.io/evil/app:1");
    expect(problemsOf({ "fleet.yaml": fleet, [T]: tenant, [R]: null, [S]: null })).toContainEqual(
      expect.stringContaining("fleet.yaml images.allowlist has ghcr.io/acme/, ghcr.io/other/"),
    );
  });

  it("refuses a file in tenants/ whose name only contains .yaml", () => {
    expect(problemsOf({ "tenants/acme.yaml.orig": TENANT })).toEqual([
      expect.stringMatching(/tenants\/acme\.yaml\.orig.*unexpected file; fleet-state files end in \.yaml/),
    ]);
  });
});

describe("fleet-state validation: rules between files still run over an invalid file", () => {
  const beta = (extra: string) =>
    [
      "tenant: beta", // 1
      "update:", // 2
      "  mode: auto", // 3
      "  preferredHourUtc: 99", // 4
      "contacts: [x@beta.example]", // 5
      "bots:", // 6
      "  - id: acme-main", // 7
      "    host: host-a", // 8
      "    image: ghcr.io/acme/app:managed", // 9
      "    volumes:", // 10
      "      - { name: acme-main-data, path: /data }", // 11
      "    health:", // 12
      "      url: http://127.0.0.1:3102/health", // 13
      extra,
    ].join("\n");

  it("finds a duplicate bot id in a tenant file with an invalid field", () => {
    const problems = problemsOf({ "tenants/beta.yaml": beta("") });
    expect(problems).toContainEqual(
      expect.stringMatching(/^fleet-state\/tenants\/beta\.yaml:4: update\.preferredHourUtc: /),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^fleet-state\/tenants\/beta\.yaml:7: bots\[0\]\.id: "acme-main" is already declared at fleet-state\/tenants\/acme\.yaml:7/,
      ),
    );
  });

  it("checks images against the allowlist of an invalid fleet.yaml", () => {
    const fleet = edit(FLEET, "windowMinutes: 60", "windowMinutes: 0");
    const tenant = edit(TENANT, "image: ghcr.io/acme/app:managed", "image: docker.io/evil/app:1");
    const problems = problemsOf({ "fleet.yaml": fleet, [T]: tenant, [R]: null, [S]: null });
    expect(problems).toContainEqual(
      expect.stringMatching(/^fleet-state\/fleet\.yaml:3: updates\.windowMinutes: /),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^fleet-state\/tenants\/acme\.yaml:9: bots\[0\]\.image: .*not allowed/),
    );
  });

  it("checks the tenant name of an invalid tenant file against its file name", () => {
    const problems = problemsOf({ "tenants/gamma.yaml": beta("") });
    expect(problems).toContainEqual(
      expect.stringMatching(/^fleet-state\/tenants\/gamma\.yaml:1: tenant: must equal the file name/),
    );
  });
});
