import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { ANY_IP, type PublishedPort } from "./ports.ts";
import { quote } from "./problems.ts";

const ipFamily = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

function blockList(subnets: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, ipFamily(network));
  return list;
}

/**
 * Where cloud metadata services answer: the link-local ranges (169.254.169.254 on every cloud)
 * and AWS's IPv6 metadata address, which sits outside them.
 */
const METADATA = blockList([
  ["169.254.0.0", 16],
  ["fe80::", 10],
  ["fd00:ec2::254", 128],
]);
const LOOPBACK = blockList([
  ["127.0.0.0", 8],
  ["::1", 128],
]);

/** The four octets of a dotted IPv4 address (the form URL gives every IPv4 host), else undefined. */
function ipv4Octets(address: string): number[] | undefined {
  if (isIP(address) !== 4) return undefined;
  return address.split(".").map(Number);
}

/**
 * IPv4-mapped IPv6 (`::ffff:169.254.169.254`) counts as the IPv4 address it maps. IPv4 is decided
 * by its octets: BlockList costs tens of microseconds a check, which a 10,000-bot fleet feels.
 */
export function isMetadataAddress(ip: string): boolean {
  const octets = ipv4Octets(ip);
  if (octets) return octets[0] === 169 && octets[1] === 254;
  // Stryker disable next-line ConditionalExpression: BlockList.check is false for a name; the family test only says what is checked.
  return isIP(ip) === 6 && METADATA.check(ip, "ipv6");
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const octets = ipv4Octets(host);
  if (octets) return octets[0] === 127;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: BlockList.check is false for a name; the family test only says what is checked.
  return isIP(host) === 6 && LOOPBACK.check(host, "ipv6");
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An allowHosts entry that is an address or CIDR range, as a range; undefined otherwise. */
function entryRange(entry: string): { network: string; prefix: number } | undefined {
  const match = /^(?<network>[^/]+)(?:\/(?<prefix>\d{1,3}))?$/.exec(entry)?.groups;
  // Stryker disable next-line StringLiteral: any text that is no address is refused by the isIP test below, like the empty one.
  const network = match?.network ?? "";
  const family = isIP(network);
  if (family === 0) return undefined;
  const bits = family === 6 ? 128 : 32;
  // Stryker disable next-line OptionalChaining: `match` exists once `network` is an address.
  const prefix = match?.prefix === undefined ? bits : Number(match.prefix);
  return prefix <= bits ? { network, prefix } : undefined;
}

function entryProblem(entry: string): string | undefined {
  if (DNS_NAME.test(entry) && isIP(entry) === 0) return undefined;
  const range = entryRange(entry);
  if (!range) return "must be an IP address, a CIDR range such as 10.20.0.0/16, or a lowercase DNS name";
  const linkLocalPrefix = isIP(range.network) === 6 ? 10 : 16;
  if (isMetadataAddress(range.network) && range.prefix >= linkLocalPrefix)
    return "cloud metadata answers there (169.254.0.0/16, fe80::/10, fd00:ec2::254); it can never be allowed";
  return undefined;
}

/** fleet.yaml `healthChecks.allowHosts`: where health URLs may go besides loopback and the bot's own ports. */
export const allowHostEntry = z.string().superRefine((entry, ctx) => {
  const problem = entryProblem(entry);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

function hostAllowed(allowHosts: readonly string[], host: string): boolean {
  const family = isIP(host);
  return allowHosts.some((entry) => {
    if (entry === host) return true;
    // Stryker disable next-line ConditionalExpression: BlockList.check is false for a name, so a range never lets one through; the test skips the work.
    const range = family === 0 ? undefined : entryRange(entry);
    if (!range) return false;
    const list = new BlockList();
    list.addSubnet(range.network, range.prefix, ipFamily(range.network));
    return list.check(host, ipFamily(host));
  });
}

/** `URL.parse` is newer than some Node 20 releases. */
function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
    // Stryker disable next-line BlockStatement: an empty catch returns undefined too.
  } catch {
    return undefined;
  }
}

/** The host of a URL without IPv6 brackets, as the agent will connect to it. */
// Stryker disable next-line Regex: URL puts brackets only around a whole IPv6 hostname.
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Whether a URL goes to a cloud metadata address, in whatever spelling. */
export function goesToMetadata(url: string): boolean {
  const parsed = parseUrl(url);
  return parsed !== undefined && isMetadataAddress(hostOf(parsed));
}

export interface HealthUrlContext {
  network: string;
  /** The bot's published ports, ignored on network "host" (Docker does not publish there). */
  ports: readonly PublishedPort[];
  /** fleet.yaml's healthChecks.allowHosts; undefined when fleet.yaml has it wrong (nothing is refused for it). */
  allowHosts: readonly string[] | undefined;
}

/**
 * Why a health URL may not be probed, or undefined when it may. The agent probes from the host,
 * so a URL aimed elsewhere turns a tenant file into a way to reach the operator's network: it is
 * allowed to loopback and the bot's own published ports, to fleet.yaml's allowHosts, and never to
 * a cloud metadata address. A DNS name is matched as written; what it resolves to is not known here.
 */
export function healthUrlProblem(url: string, context: HealthUrlContext): string | undefined {
  const parsed = parseUrl(url);
  if (!parsed) return undefined; // the schema reports it
  const host = hostOf(parsed);
  const port = Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
  if (isMetadataAddress(host))
    return `${quote(url)} goes to ${host}, where cloud metadata answers (169.254.0.0/16, fe80::/10, fd00:ec2::254); a health URL may never go there, whatever fleet.yaml allows`;
  // Stryker disable next-line ArrayDeclaration: a made-up entry has no address or port, so it matches no URL.
  const published = context.network === "host" ? [] : context.ports.filter((p) => p.protocol === "tcp");
  if (isLoopback(host)) {
    if (context.network === "host") return undefined;
    const ip = host === "localhost" ? "127.0.0.1" : host;
    if (published.some((p) => p.hostPort === port && (p.ip === ip || p.ip === ANY_IP))) return undefined;
    const list = published.map((p) => `${p.ip}:${p.hostPort}`).join(", ") || "none";
    return `${quote(url)} reaches no port this bot publishes (on network "${context.network}" it publishes: ${list}); point it at one of them or publish ${host}:${port}`;
  }
  if (published.some((p) => p.ip === host && p.hostPort === port)) return undefined;
  if (!context.allowHosts || hostAllowed(context.allowHosts, host)) return undefined;
  return `${quote(url)} goes to ${host}, which is neither loopback nor a port this bot publishes; allow it in fleet.yaml healthChecks.allowHosts if the agent must probe it there`;
}
