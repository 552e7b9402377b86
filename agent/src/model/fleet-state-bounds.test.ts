import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROLLOUT_ID, rolloutText } from "../plan/testing.ts";
import { buildFleetState, type OversizedFile, type StateFile } from "./fleet-state.ts";
import { MAX_FILE_BYTES, MAX_VALUE_BYTES } from "./limits.ts";
import { loadFleetState } from "./load.ts";
import { formatProblem } from "./problems.ts";

const FLEET = `images:
  allowlist: ["ghcr.io/acme/"]
`;

/** Line 3 is the id, 6 the network, 7 the ports, 8 the health URL of the one bot. */
const bot = (id: string, { host = "host-a", network = "host", ports = "[]", url = "" } = {}) =>
  `  - id: ${id}
    host: ${host}
    image: ghcr.io/acme/app:managed
    network: ${network}
    ports: ${ports}
${url ? `    health: { url: "${url}" }\n` : ""}`;

const tenant = (name: string, ...bots: string[]) => `tenant: ${name}\nbots:\n${bots.join("")}`;

const R = `rollouts/${ROLLOUT_ID}.yaml`;
const rollout = (strategy: string, targets: string) => rolloutText(targets, strategy);

const TARGET = "  - { bot: acme-main, tenant: acme, host: host-a, wave: 1 }\n";

function problems(files: Record<string, string>, extra: (StateFile | OversizedFile)[] = []): string[] {
  const list = [...Object.entries(files).map(([path, text]) => ({ path, text })), ...extra];
  const result = buildFleetState(list, "fleet-state/");
  return result.ok ? [] : result.problems.map(formatProblem);
}

const base = (overrides: Record<string, string> = {}) => ({
  "fleet.yaml": FLEET,
  "tenants/acme.yaml": tenant("acme", bot("acme-main", { url: "http://127.0.0.1:3101/health" })),
  ...overrides,
});

/** Replace exactly one occurrence, so a typo in a test cannot silently leave the input valid. */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, `"${from}" must occur exactly once`).toBe(1);
  return text.replace(from, to);
}

describe("the fixtures", () => {
  it("are valid as they stand", () => {
    expect(problems(base({ [R]: rollout("", TARGET) }))).toEqual([]);
  });
});

describe("size limits", () => {
  it("refuses a file over the limit before parsing it, naming its size", () => {
    const big = `${tenant("acme")}# ${"x".repeat(MAX_FILE_BYTES)}\n`;
    expect(problems(base({ "tenants/beta.yaml": big }))).toEqual([
      "fleet-state/tenants/beta.yaml:1: (file): is 4.0 MiB; a fleet-state file may be at most 4.0 MiB (keep bulky data out of fleet-state: a value may be at most 64.0 KiB)",
    ]);
  });

  it("refuses a file the loader only measured", () => {
    expect(problems(base(), [{ path: "tenants/beta.yaml", bytes: 52_428_800 }])).toEqual([
      "fleet-state/tenants/beta.yaml:1: (file): is 50.0 MiB; a fleet-state file may be at most 4.0 MiB (keep bulky data out of fleet-state: a value may be at most 64.0 KiB)",
    ]);
  });

  it("refuses an env value over the limit at its line, and takes one at the limit", () => {
    const withEnv = (value: string) =>
      tenant("acme", `${bot("acme-main", { url: "http://127.0.0.1:3101/" })}    env: { BIG: "${value}" }\n`);
    expect(problems(base({ "tenants/acme.yaml": withEnv("é".repeat(MAX_VALUE_BYTES / 2)) }))).toEqual([]);
    expect(problems(base({ "tenants/acme.yaml": withEnv("é".repeat(MAX_VALUE_BYTES / 2 + 1)) }))).toEqual([
      "fleet-state/tenants/acme.yaml:9: bots[0].env.BIG: is 64.0 KiB; a value in fleet-state may be at most 64.0 KiB",
    ]);
    expect(problems(base({ "tenants/acme.yaml": withEnv("x".repeat(100 * 1024)) }))).toEqual([
      "fleet-state/tenants/acme.yaml:9: bots[0].env.BIG: is 100.0 KiB; a value in fleet-state may be at most 64.0 KiB",
    ]);
  });

  it("refuses an oversized key at the map that holds it, without quoting the key", () => {
    const key = "K".repeat(MAX_VALUE_BYTES + 1);
    const text = tenant(
      "acme",
      // An explicit key: YAML refuses an implicit key over 1024 characters on its own.
      `${bot("acme-main", { url: "http://127.0.0.1:3101/" })}    env:\n      ? ${key}\n      : v\n`,
    );
    const found = problems(base({ "tenants/acme.yaml": text }));
    expect(found).toContain(
      "fleet-state/tenants/acme.yaml:9: bots[0].env: holds a key of 64.0 KiB; a value in fleet-state may be at most 64.0 KiB",
    );
    expect(found.every((line) => line.length < 400)).toBe(true);
  });

  describe("through the loader", () => {
    const dirs: string[] = [];
    afterAll(async () => {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it("refuses a tenant file with a 50 MB env value by its size", async () => {
      const dir = await mkdtemp(join(tmpdir(), "fleetwave-bounds-"));
      dirs.push(dir);
      await mkdir(join(dir, "tenants"));
      await writeFile(join(dir, "fleet.yaml"), FLEET);
      const huge = `${tenant("acme", bot("acme-main"))}    env: { BIG: "${"x".repeat(50 * 1024 * 1024)}" }\n`;
      await writeFile(join(dir, "tenants/acme.yaml"), huge);
      const result = await loadFleetState(dir, dir);
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
        "tenants/acme.yaml:1: (file): is 50.0 MiB; a fleet-state file may be at most 4.0 MiB (keep bulky data out of fleet-state: a value may be at most 64.0 KiB)",
      ]);
    });
  });
});

describe("upper bounds of numbers", () => {
  const fleetStrategy = (lines: string) => ({ "fleet.yaml": `${FLEET}strategy:\n${lines}` });
  const cases: [string, string, string][] = [
    ["pauseSeconds", "604801", "pauseSeconds must be at most 604800"],
    ["maxParallel", "65", "maxParallel must be at most 64"],
    ["maxRetries", "11", "maxRetries must be at most 10"],
    ["failureThreshold", "10001", "failureThreshold must be at most 10000"],
    ["healthCheckTimeoutSeconds", "3601", "healthCheckTimeoutSeconds must be at most 3600"],
    ["minHealthySeconds", "3601", "minHealthySeconds must be at most 3600"],
  ];

  /** A healthy period over the bound is also not shorter than the timeout that contains it. */
  const alsoFor = (field: string) =>
    field === "minHealthySeconds"
      ? ["minHealthySeconds must be less than healthCheckTimeoutSeconds (120), which includes it"]
      : [];

  it.each(cases)("refuses %s %s in fleet.yaml", (field, value, message) => {
    expect(problems(base(fleetStrategy(`  ${field}: ${value}\n`)))).toEqual(
      [message, ...alsoFor(field)].map((m) => `fleet-state/fleet.yaml:4: strategy.${field}: ${m}`),
    );
  });

  it.each(cases)("refuses %s %s in a rollout", (field, value, message) => {
    const text = rollout("", TARGET).replace(new RegExp(`  ${field}: \\d+`), `  ${field}: ${value}`);
    const line = text.split("\n").findIndex((l) => l.startsWith(`  ${field}:`)) + 1;
    expect(problems(base({ [R]: text }))).toEqual(
      [message, ...alsoFor(field)].map((m) => `fleet-state/${R}:${line}: strategy.${field}: ${m}`),
    );
  });

  it("takes every number at its upper bound", () => {
    const strategy =
      "  pauseSeconds: 604800\n  maxParallel: 64\n  maxRetries: 10\n  failureThreshold: 10000\n" +
      "  healthCheckTimeoutSeconds: 3600\n  minHealthySeconds: 3599\n";
    const fleet = `${FLEET}strategy:\n${strategy}snapshots:\n  keepAfterSuccess: 100\n`;
    expect(
      problems(base({ "fleet.yaml": fleet, [R]: rollout("", TARGET.replace("wave: 1", "wave: 100")) })),
    ).toEqual([]);
  });

  it("refuses a healthy period as long as the health check timeout that contains it", () => {
    expect(
      problems(base(fleetStrategy("  healthCheckTimeoutSeconds: 30\n  minHealthySeconds: 30\n"))),
    ).toEqual([
      "fleet-state/fleet.yaml:5: strategy.minHealthySeconds: minHealthySeconds must be less than healthCheckTimeoutSeconds (30), which includes it",
    ]);
    const text = edit(rollout("", TARGET), "minHealthySeconds: 10", "minHealthySeconds: 120");
    expect(problems(base({ [R]: text }))).toEqual([
      `fleet-state/${R}:15: strategy.minHealthySeconds: minHealthySeconds must be less than healthCheckTimeoutSeconds (120), which includes it`,
    ]);
  });

  it("refuses keepAfterSuccess over 100, a wave over 100 and status numbers out of range", () => {
    const fleet = `${FLEET}snapshots:\n  keepAfterSuccess: 101\n`;
    const status = `host: host-a
observedCommit: abc1234
updatedAt: 2026-11-27T06:20:00Z
rollouts:
  ${ROLLOUT_ID}:
    state: in-progress
    wavesDone: 101
    bots:
      acme-main: { result: pending, wave: 101, attempts: 12 }
`;
    expect(
      problems(
        base({
          "fleet.yaml": fleet,
          [R]: rollout("", TARGET.replace("wave: 1", "wave: 101")),
          "status/host-a.yaml": status,
        }),
      ),
    ).toEqual([
      "fleet-state/fleet.yaml:4: snapshots.keepAfterSuccess: keepAfterSuccess must be from 0 to 100",
      `fleet-state/${R}:18: targets[0].wave: a rollout has at most 100 waves`,
      `fleet-state/status/host-a.yaml:7: rollouts.${ROLLOUT_ID}.wavesDone: Too big: expected number to be <=100`,
      `fleet-state/status/host-a.yaml:9: rollouts.${ROLLOUT_ID}.bots.acme-main.attempts: Too big: expected number to be <=11`,
      `fleet-state/status/host-a.yaml:9: rollouts.${ROLLOUT_ID}.bots.acme-main.wave: Too big: expected number to be <=100`,
    ]);
  });

  it("refuses ports outside 1 to 65535 and addresses that are not IPv4", () => {
    const text = tenant(
      "acme",
      bot("acme-main", { ports: '["0:80", "3101:65536", "300.1.1.1:3102:80", "3103:80"]' }),
    );
    const message =
      "ports must be from 1 to 65535 and the address a valid IPv4 address, e.g. 127.0.0.1:3101:3100";
    expect(problems(base({ "tenants/acme.yaml": text }))).toEqual([
      `fleet-state/tenants/acme.yaml:7: bots[0].ports[0]: ${message}`,
      `fleet-state/tenants/acme.yaml:7: bots[0].ports[1]: ${message}`,
      `fleet-state/tenants/acme.yaml:7: bots[0].ports[2]: ${message}`,
    ]);
  });
});

describe("host port collisions", () => {
  const twoBots = (a: string, b: string, { hostB = "host-a", network = "bots" } = {}) =>
    base({
      "tenants/acme.yaml": tenant("acme", bot("acme-main", { ports: a, network: "bots" })),
      "tenants/beta.yaml": tenant("beta", bot("beta-main", { host: hostB, ports: b, network })),
    });

  it("refuses a host port two bots on one host publish, naming both places", () => {
    expect(problems(twoBots('["3101:3100"]', '["127.0.0.1:3101:80"]'))).toEqual([
      'fleet-state/tenants/beta.yaml:7: bots[0].ports[0]: host port 127.0.0.1:3101/tcp on host "host-a" is already published as 127.0.0.1:3101/tcp by bot "acme-main" at fleet-state/tenants/acme.yaml:7 (bots[0].ports[0]); two containers cannot bind one port',
    ]);
  });

  it("counts a binding of every address as overlapping any other address", () => {
    expect(problems(twoBots('["127.0.0.1:3101:3100"]', '["0.0.0.0:3101:80/tcp"]'))).toEqual([
      'fleet-state/tenants/beta.yaml:7: bots[0].ports[0]: host port 0.0.0.0:3101/tcp on host "host-a" is already published as 127.0.0.1:3101/tcp by bot "acme-main" at fleet-state/tenants/acme.yaml:7 (bots[0].ports[0]); two containers cannot bind one port',
    ]);
  });

  it("refuses one bot publishing a host port twice", () => {
    const text = tenant("acme", bot("acme-main", { ports: '["3101:3100", "3101:3200"]', network: "bots" }));
    expect(problems(base({ "tenants/acme.yaml": text }))).toEqual([
      'fleet-state/tenants/acme.yaml:7: bots[0].ports[1]: host port 127.0.0.1:3101/tcp on host "host-a" is already published as 127.0.0.1:3101/tcp by this bot at fleet-state/tenants/acme.yaml:7 (bots[0].ports[0]); two containers cannot bind one port',
    ]);
  });

  it("takes the same port on other hosts, other addresses, other protocols and on network host", () => {
    expect(problems(twoBots('["3101:3100"]', '["3101:3100"]', { hostB: "host-b" }))).toEqual([]);
    expect(problems(twoBots('["127.0.0.1:3101:3100"]', '["127.0.0.2:3101:3100"]'))).toEqual([]);
    expect(problems(twoBots('["3101:3100/tcp"]', '["3101:3100/udp"]'))).toEqual([]);
    expect(problems(twoBots('["3101:3100"]', '["3101:3100"]', { network: "host" }))).toEqual([]);
  });
});

describe("health URLs", () => {
  const withUrl = (url: string, options: { network?: string; ports?: string; allowHosts?: string } = {}) =>
    problems(
      base({
        "fleet.yaml": options.allowHosts
          ? `${FLEET}healthChecks:\n  allowHosts: ${options.allowHosts}\n`
          : FLEET,
        "tenants/acme.yaml": tenant(
          "acme",
          bot("acme-main", { network: options.network ?? "host", ports: options.ports ?? "[]", url }),
        ),
      }),
    );
  const at = "fleet-state/tenants/acme.yaml:8: bots[0].health.url: ";
  const metadata = (url: string, ip: string) =>
    `${at}"${url}" goes to ${ip}, where cloud metadata answers (169.254.0.0/16, fe80::/10, fd00:ec2::254); a health URL may never go there, whatever fleet.yaml allows`;

  it("takes loopback on network host", () => {
    expect(withUrl("http://127.0.0.1:3101/health")).toEqual([]);
    expect(withUrl("http://localhost:3101/health")).toEqual([]);
    expect(withUrl("http://[::1]:3101/health")).toEqual([]);
    expect(withUrl("http://127.0.0.2:3101/health")).toEqual([]);
  });

  it("never takes a cloud metadata address, however it is written or allowed", () => {
    const all = '["0.0.0.0/0", "::/0"]';
    expect(withUrl("http://169.254.169.254/latest/meta-data/", { allowHosts: all })).toEqual([
      metadata("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ]);
    expect(withUrl("http://0xA9FEA9FE/", { allowHosts: all })).toEqual([
      metadata("http://0xA9FEA9FE/", "169.254.169.254"),
    ]);
    expect(withUrl("http://2852039166/")).toEqual([metadata("http://2852039166/", "169.254.169.254")]);
    expect(withUrl("http://[::ffff:169.254.169.254]/", { allowHosts: all })).toEqual([
      metadata("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"),
    ]);
    expect(withUrl("http://[fe80::1]:8080/", { allowHosts: all })).toEqual([
      metadata("http://[fe80::1]:8080/", "fe80::1"),
    ]);
    expect(withUrl("http://[fd00:ec2::254]/", { allowHosts: all })).toEqual([
      metadata("http://[fd00:ec2::254]/", "fd00:ec2::254"),
    ]);
  });

  it("refuses another address unless fleet.yaml allows it", () => {
    expect(withUrl("http://10.1.2.3:8080/health")).toEqual([
      `${at}"http://10.1.2.3:8080/health" goes to 10.1.2.3, which is neither loopback nor a port this bot publishes; allow it in fleet.yaml healthChecks.allowHosts if the agent must probe it there`,
    ]);
    expect(withUrl("http://10.1.2.3:8080/health", { allowHosts: '["10.1.0.0/16"]' })).toEqual([]);
    expect(withUrl("http://10.1.2.3:8080/health", { allowHosts: '["10.1.2.3"]' })).toEqual([]);
    expect(withUrl("http://10.2.0.1:8080/health", { allowHosts: '["10.1.0.0/16"]' })).toHaveLength(1);
    expect(withUrl("https://status.acme.example/bot", { allowHosts: '["status.acme.example"]' })).toEqual([]);
    expect(withUrl("https://evil.example/bot", { allowHosts: '["status.acme.example"]' })).toEqual([
      `${at}"https://evil.example/bot" goes to evil.example, which is neither loopback nor a port this bot publishes; allow it in fleet.yaml healthChecks.allowHosts if the agent must probe it there`,
    ]);
  });

  it("takes the bot's own published port and refuses a loopback port it does not publish", () => {
    expect(withUrl("http://127.0.0.1:3101/health", { network: "bots", ports: '["3101:3100"]' })).toEqual([]);
    expect(
      withUrl("http://localhost:3101/health", { network: "bots", ports: '["0.0.0.0:3101:3100"]' }),
    ).toEqual([]);
    expect(
      withUrl("http://10.0.0.5:8080/health", { network: "bots", ports: '["10.0.0.5:8080:80"]' }),
    ).toEqual([]);
    expect(withUrl("http://127.0.0.1:3102/health", { network: "bots", ports: '["3101:3100"]' })).toEqual([
      `${at}"http://127.0.0.1:3102/health" reaches no port this bot publishes (on network "bots" it publishes: 127.0.0.1:3101); point it at one of them or publish 127.0.0.1:3102`,
    ]);
    expect(withUrl("http://127.0.0.1:3101/health", { network: "bots", ports: '["3101:3100/udp"]' })).toEqual([
      `${at}"http://127.0.0.1:3101/health" reaches no port this bot publishes (on network "bots" it publishes: none); point it at one of them or publish 127.0.0.1:3101`,
    ]);
  });

  it("refuses allowHosts entries that are metadata ranges or not hosts at all", () => {
    expect(
      withUrl("http://127.0.0.1:3101/", {
        allowHosts: '["169.254.0.0/16", "fe80::/64", "10.0.0.0/33", "Bad_Host"]',
      }),
    ).toEqual([
      "fleet-state/fleet.yaml:4: healthChecks.allowHosts[0]: cloud metadata answers there (169.254.0.0/16, fe80::/10, fd00:ec2::254); it can never be allowed",
      "fleet-state/fleet.yaml:4: healthChecks.allowHosts[1]: cloud metadata answers there (169.254.0.0/16, fe80::/10, fd00:ec2::254); it can never be allowed",
      "fleet-state/fleet.yaml:4: healthChecks.allowHosts[2]: must be an IP address, a CIDR range such as 10.20.0.0/16, or a lowercase DNS name",
      "fleet-state/fleet.yaml:4: healthChecks.allowHosts[3]: must be an IP address, a CIDR range such as 10.20.0.0/16, or a lowercase DNS name",
    ]);
  });
});

describe("webhook URLs", () => {
  it("never go to a cloud metadata address", () => {
    const fleet = `${FLEET}notifications:\n  webhooks:\n    - { url: "http://[::ffff:169.254.169.254]/hook", events: [rollout.aborted] }\n`;
    expect(problems(base({ "fleet.yaml": fleet }))).toEqual([
      "fleet-state/fleet.yaml:5: notifications.webhooks[0].url: goes to a cloud metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254); webhooks may never go there",
    ]);
  });
});

describe("the image allowlist in fleet-state", () => {
  const withImage = (image: string, allowlist = '["ghcr.io/acme/"]') =>
    problems(
      base({
        "fleet.yaml": `images:\n  allowlist: ${allowlist}\n`,
        "tenants/acme.yaml": tenant("acme", bot("acme-main").replace("ghcr.io/acme/app:managed", image)),
      }),
    );

  it("matches whole path components only", () => {
    expect(withImage("ghcr.io/acme-evil/app:1", '["ghcr.io/acme"]')).toEqual([
      'fleet-state/tenants/acme.yaml:5: bots[0].image: "ghcr.io/acme-evil/app:1" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme',
    ]);
    expect(withImage("evil.io/ghcr.io/acme/app:1")).toEqual([
      'fleet-state/tenants/acme.yaml:5: bots[0].image: "evil.io/ghcr.io/acme/app:1" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/',
    ]);
    expect(withImage("ghcr.io/acme/app:1", '["ghcr.io/acme"]')).toEqual([]);
  });

  it("refuses an allowlist entry with a tag or digest", () => {
    expect(withImage("ghcr.io/acme/app:1", '["ghcr.io/acme/app:1"]')).toEqual([
      'fleet-state/fleet.yaml:2: images.allowlist[0]: must be a registry or repository path in lowercase without a tag or digest, e.g. "ghcr.io/acme/" or "ghcr.io/acme/app"',
    ]);
  });
});

describe("every problem in one run", () => {
  it("reports a duplicate id across files although one of them breaks its schema", () => {
    const beta = tenant(
      "beta",
      bot("acme-main", { host: "host-b" }),
      bot("beta-2").replace("host: host-a", "host: Host A"),
    );
    expect(problems(base({ "tenants/beta.yaml": beta }))).toEqual([
      'fleet-state/tenants/beta.yaml:3: bots[0].id: "acme-main" is already declared at fleet-state/tenants/acme.yaml:3; bot ids are container names and must be unique across the fleet',
      "fleet-state/tenants/beta.yaml:9: bots[1].host: host id must be lowercase letters, digits and dashes",
    ]);
  });

  it("reports a duplicate id when the bot with it breaks its schema elsewhere", () => {
    const beta = tenant("beta", bot("acme-main", { host: "host-b", ports: '["x"]' }));
    expect(problems(base({ "tenants/beta.yaml": beta }))).toEqual([
      'fleet-state/tenants/beta.yaml:3: bots[0].id: "acme-main" is already declared at fleet-state/tenants/acme.yaml:3; bot ids are container names and must be unique across the fleet',
      'fleet-state/tenants/beta.yaml:7: bots[0].ports[0]: must be "[ip:]hostPort:containerPort[/tcp|udp]", e.g. 127.0.0.1:3101:3100',
    ]);
  });

  it("checks the allowlist although fleet.yaml has an unrelated error", () => {
    const fleet = `${FLEET}colour: blue\n`;
    const acme = tenant("acme", bot("acme-main").replace("ghcr.io/acme/app:managed", "docker.io/evil/app:1"));
    expect(problems(base({ "fleet.yaml": fleet, "tenants/acme.yaml": acme }))).toEqual([
      "fleet-state/fleet.yaml:3: colour: unknown field",
      'fleet-state/tenants/acme.yaml:5: bots[0].image: "docker.io/evil/app:1" is not allowed; fleet.yaml images.allowlist has ghcr.io/acme/',
    ]);
  });

  it("checks a rollout's targets although the rollout breaks its schema", () => {
    const text = edit(
      rollout("", `${TARGET}${TARGET}  - { bot: ghost-bot, tenant: acme, host: host-a, wave: 1 }\n`),
      "createdAt: 2026-11-27T06:12:00Z",
      "createdAt: yesterday",
    );
    expect(problems(base({ [R]: text }))).toEqual([
      `fleet-state/${R}:2: createdAt: must be an ISO 8601 time such as 2026-11-27T06:12:00Z`,
      `fleet-state/${R}:19: targets[1].bot: bot "acme-main" is targeted twice (first at line 18, targets[0])`,
      `fleet-state/${R}:20: targets[2].bot: no bot "ghost-bot" is declared in tenants/`,
    ]);
  });

  it("does not call a target undeclared while a tenant file's bots cannot be read", () => {
    const text = rollout("", "  - { bot: beta-main, tenant: beta, host: host-a, wave: 1 }\n");
    expect(problems(base({ [R]: text, "tenants/beta.yaml": "tenant: beta\nbots: {\n" }))[0]).toMatch(
      /^fleet-state\/tenants\/beta\.yaml:\d+: \(yaml\): invalid YAML/,
    );
    expect(
      problems(base({ [R]: text, "tenants/beta.yaml": "tenant: beta\nbots:\n  - host: host-a\n" })),
    ).toEqual([
      "fleet-state/tenants/beta.yaml:3: bots[0].id: required (expected string)",
      "fleet-state/tenants/beta.yaml:3: bots[0].image: required (expected string)",
    ]);
  });
});

describe("problems stay on one line", () => {
  it("escapes control characters in keys, values and file names", () => {
    const status = `host: host-a
observedCommit: abc1234
updatedAt: 2026-11-27T06:20:00Z
bots:
  "evil\\nfleet-state/fleet.yaml:1: (file): all good":
    digest: null
    state: running
    mood: "x"
`;
    const path = edit(
      bot("acme-main", { url: "http://127.0.0.1:3101/" }),
      "    ports: []\n",
      '    ports: []\n    volumes:\n      - { name: a-data, path: "/da\\u2028ta" }\n      - { name: b-data, path: "/da\\u2028ta" }\n',
    );
    const found = problems(
      base({
        "status/host-a.yaml": status,
        "tenants/acme.yaml": tenant("acme", path),
        "tenants/x\ny.yml": "tenant: xy\n",
      }),
    );
    expect(found).toEqual([
      "fleet-state/status/host-a.yaml:8: bots.evil\\nfleet-state/fleet.yaml:1: (file): all good.mood: unknown field",
      'fleet-state/tenants/acme.yaml:10: bots[0].volumes[1].path: mount path "/da\\u2028ta" is used twice for this bot',
      'fleet-state/tenants/x\\ny.yml:1: tenant: must equal the file name "x\\ny" (or rename the file to xy.yaml)',
    ]);
  });
});
