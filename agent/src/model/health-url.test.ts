import { describe, expect, it } from "vitest";
import { allowHostEntry, goesToMetadata, healthUrlProblem, isMetadataAddress } from "./health-url.ts";
import { parsePort } from "./ports.ts";

const problem = (url: string, network: string, ports: string[], allowHosts?: string[]) =>
  healthUrlProblem(url, { network, ports: ports.map((spec) => parsePort(spec)!), allowHosts });

const entryProblem = (entry: string) => {
  const result = allowHostEntry.safeParse(entry);
  return result.success ? undefined : result.error.issues.map((i) => i.message);
};
const NOT_A_HOST = "must be an IP address, a CIDR range such as 10.20.0.0/16, or a lowercase DNS name";
const METADATA =
  "cloud metadata answers there (169.254.0.0/16, fe80::/10, fd00:ec2::254); it can never be allowed";

describe("cloud metadata addresses", () => {
  it("are 169.254/16 and the IPv6 ranges, nothing that only shares an octet or is a name", () => {
    expect(isMetadataAddress("169.254.169.254")).toBe(true);
    expect(isMetadataAddress("169.1.1.1")).toBe(false);
    expect(isMetadataAddress("10.254.0.1")).toBe(false);
    expect(isMetadataAddress("evil.example")).toBe(false);
    expect(goesToMetadata("http://[fe80::1]/")).toBe(true);
    expect(goesToMetadata("not a url")).toBe(false);
  });
});

describe("allowHosts entries", () => {
  it("are a whole address, CIDR range or DNS name", () => {
    expect(entryProblem("10.0.0.0/8")).toBeUndefined();
    expect(entryProblem("status.acme.example")).toBeUndefined();
    for (const entry of ["a/10.0.0.0/8", "10.0.0.0/8/x", "a/b/c", "Bad_Host"])
      expect(entryProblem(entry), entry).toEqual([NOT_A_HOST]);
  });

  it("may not lie inside a metadata range, written as an address or as an IPv6 range", () => {
    expect(entryProblem("169.254.169.254")).toEqual([METADATA]);
    expect(entryProblem("fe80::/12")).toEqual([METADATA]);
    // A wider range only overlaps metadata: health URLs to a metadata address are refused anyway.
    expect(entryProblem("169.254.0.0/12")).toBeUndefined();
  });
});

describe("health URLs", () => {
  it("leave a URL that does not parse to the schema", () => {
    expect(problem("not a url", "bots", [], [])).toBeUndefined();
  });

  it("match IPv6 ranges of allowHosts, and never a DNS name against a range", () => {
    expect(problem("http://[fd00::5]:80/", "bots", [], ["fd00::/8"])).toBeUndefined();
    expect(problem("http://evil.example/", "bots", [], ["10.0.0.0/8"])).toBe(
      '"http://evil.example/" goes to evil.example, which is neither loopback nor a port this bot publishes; allow it in fleet.yaml healthChecks.allowHosts if the agent must probe it there',
    );
  });

  it("take HTTPS's default port 443", () => {
    expect(problem("https://127.0.0.1/", "bots", ["127.0.0.1:443:8443"])).toBeUndefined();
    expect(problem("https://127.0.0.1/", "bots", ["127.0.0.1:80:8443"])).toBe(
      '"https://127.0.0.1/" reaches no port this bot publishes (on network "bots" it publishes: 127.0.0.1:80); point it at one of them or publish 127.0.0.1:443',
    );
  });

  it("match a loopback URL to a published port on the same address, localhost being 127.0.0.1", () => {
    expect(problem("http://localhost:3101/", "bots", ["127.0.0.1:3101:3100"])).toBeUndefined();
    expect(problem("http://127.0.0.2:3101/", "bots", ["127.0.0.2:3101:3100"])).toBeUndefined();
    expect(problem("http://127.0.0.1:3101/", "bots", ["127.0.0.2:3101:3100"])).toBe(
      '"http://127.0.0.1:3101/" reaches no port this bot publishes (on network "bots" it publishes: 127.0.0.2:3101); point it at one of them or publish 127.0.0.1:3101',
    );
    expect(problem("http://127.0.0.1:3103/", "bots", ["3101:3100", "3102:3100"])).toContain(
      "it publishes: 127.0.0.1:3101, 127.0.0.1:3102);",
    );
  });

  it("match another address only to a port published on that address and port, never on network host", () => {
    expect(problem("http://10.0.0.5:8080/", "bots", ["10.0.0.5:8080:80"], [])).toBeUndefined();
    for (const [url, network] of [
      ["http://10.0.0.5:8081/", "bots"],
      ["http://10.0.0.6:8080/", "bots"],
      ["http://10.0.0.5:8080/", "host"],
    ] as const)
      expect(problem(url, network, ["10.0.0.5:8080:80"], []), `${url} on ${network}`).toMatch(
        /which is neither loopback nor a port this bot publishes/,
      );
  });
});
