import { z } from "zod";

/** One `ports` entry of a bot: `[ip:]hostPort:containerPort[/tcp|udp]`. */
export interface PublishedPort {
  /** The host address bound; 127.0.0.1 when the entry names none (see container-spec.ts). */
  ip: string;
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

export const DEFAULT_HOST_IP = "127.0.0.1";
/** Binds every address of the host, so it overlaps a binding of any other address. */
export const ANY_IP = "0.0.0.0";

const PORT = /^(?:(?:\d{1,3}\.){3}\d{1,3}:)?\d{1,5}:\d{1,5}(?:\/(?:tcp|udp))?$/;

/** Parses a `ports` entry; undefined unless every part is in range. */
export function parsePort(spec: string): PublishedPort | undefined {
  if (!PORT.test(spec)) return undefined;
  // Stryker disable next-line StringLiteral: the pattern above guarantees a mapping, and only "udp" is told apart below.
  const [mapping = "", protocol = "tcp"] = spec.split("/");
  const parts = mapping.split(":");
  const containerPort = Number(parts.pop());
  const hostPort = Number(parts.pop());
  const ip = parts.pop() ?? DEFAULT_HOST_IP;
  const inRange = (n: number) => n >= 1 && n <= 65535;
  if (!inRange(hostPort) || !inRange(containerPort)) return undefined;
  if (ip.split(".").some((octet) => Number(octet) > 255 || (octet.length > 1 && octet.startsWith("0"))))
    return undefined;
  return { ip, hostPort, containerPort, protocol: protocol === "udp" ? "udp" : "tcp" };
}

/** The pattern stays in the JSON Schema for editors; the ranges need the refinement. */
export const portSpec = z
  .string()
  .regex(PORT, {
    message: 'must be "[ip:]hostPort:containerPort[/tcp|udp]", e.g. 127.0.0.1:3101:3100',
    abort: true,
  })
  .refine((spec) => parsePort(spec) !== undefined, {
    message: "ports must be from 1 to 65535 and the address a valid IPv4 address, e.g. 127.0.0.1:3101:3100",
  });

/** Whether two published ports would need the same host socket. */
export function portsOverlap(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.ip === b.ip || a.ip === ANY_IP || b.ip === ANY_IP)
  );
}
