import { describe, expect, it } from "vitest";
import { parsePort, portsOverlap } from "./ports.ts";

describe("ports entries", () => {
  it("read address, host port, container port and protocol, defaulting to 127.0.0.1 and tcp", () => {
    expect(parsePort("3101:3100")).toEqual({
      ip: "127.0.0.1",
      hostPort: 3101,
      containerPort: 3100,
      protocol: "tcp",
    });
    expect(parsePort("10.0.0.5:8080:80/udp")).toEqual({
      ip: "10.0.0.5",
      hostPort: 8080,
      containerPort: 80,
      protocol: "udp",
    });
    expect(parsePort("0.0.0.0:80:80/tcp")).toMatchObject({ ip: "0.0.0.0", protocol: "tcp" });
    expect(parsePort("1:65535")).toMatchObject({ hostPort: 1, containerPort: 65535 });
    expect(parsePort("255.255.255.255:80:80")).toMatchObject({ ip: "255.255.255.255" });
  });

  it("refuse ports outside 1 to 65535, octets over 255 or with a leading zero, and other protocols", () => {
    for (const spec of [
      "0:80",
      "80:0",
      "65536:80",
      "80:65536",
      "256.0.0.1:80:80",
      "01.2.3.4:80:80",
      "1.2.3.4:80:80/sctp",
      "80",
    ])
      expect(parsePort(spec), spec).toBeUndefined();
  });

  it("overlap on the same protocol and port when an address is the same or binds every address", () => {
    const port = (spec: string) => parsePort(spec)!;
    expect(portsOverlap(port("127.0.0.1:80:1"), port("127.0.0.1:80:2"))).toBe(true);
    expect(portsOverlap(port("0.0.0.0:80:1"), port("127.0.0.2:80:2"))).toBe(true);
    expect(portsOverlap(port("127.0.0.2:80:1"), port("0.0.0.0:80:2"))).toBe(true);
    expect(portsOverlap(port("127.0.0.1:80:1"), port("127.0.0.2:80:2"))).toBe(false);
    expect(portsOverlap(port("127.0.0.1:80:1"), port("127.0.0.1:81:1"))).toBe(false);
    expect(portsOverlap(port("127.0.0.1:80:1/udp"), port("127.0.0.1:80:1"))).toBe(false);
  });
});
