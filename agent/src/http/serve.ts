/**
 * Serving the app with @hono/node-server, and parsing `--listen host:port`. Loopback only unless
 * the caller explicitly allows remote addresses (the API is plain HTTP; put TLS in front).
 */
import { isIP } from "node:net";
import { serve as nodeServe } from "@hono/node-server";
import { FleetwaveError, UsageError } from "../errors.ts";

export const DEFAULT_LISTEN = "127.0.0.1:8787";

/** The address could not be bound (taken, not ours, privileged). The message names it and what to do. */
export class ListenError extends FleetwaveError {
  override name = "ListenError";
}

export interface ListenAddress {
  /** Without brackets for IPv6, e.g. "127.0.0.1", "::1", "localhost". */
  host: string;
  port: number;
}

export interface ParseListenOptions {
  /** Accept addresses that are not loopback (e.g. 0.0.0.0 behind a TLS proxy). Default false. */
  allowRemote?: boolean;
  /** Flag name used in error messages. */
  flag?: string;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return /^::ffff:127\./.test(h);
}

/**
 * Parses `host:port` (`[v6]:port` for IPv6). Throws a UsageError for a malformed value or,
 * without `allowRemote`, for an address outside loopback.
 */
export function parseListen(value: string, options: ParseListenOptions = {}): ListenAddress {
  const flag = options.flag ?? "--listen";
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `${flag}: expected host:port (e.g. ${DEFAULT_LISTEN} or [::1]:8787), got "${value}"`,
    );
  const host = (match[1] ?? match[2])!;
  const port = Number(match[3]);
  if (port > 65535) throw new UsageError(`${flag}: port must be from 0 to 65535, got ${port}`);
  if (match[1] !== undefined && isIP(host) !== 6)
    throw new UsageError(`${flag}: "[${host}]" is not an IPv6 address`);
  if (match[2] !== undefined && isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw new UsageError(`${flag}: "${host}" is neither an IP address nor a host name`);
  }
  if (!options.allowRemote && !isLoopbackAddress(host)) {
    throw new UsageError(
      `${flag}: ${host} is not a loopback address; the API is plain HTTP and listens on loopback ` +
        "by default. Allow remote addresses explicitly (and put TLS in front) if you really mean it.",
    );
  }
  return { host, port };
}

export interface ServerHandle {
  /** e.g. http://127.0.0.1:8787 (the actual port when 0 was asked for). */
  url: string;
  address: ListenAddress;
  /** Stops accepting connections, closes idle keep-alive connections and waits (≤ graceMs) for the rest. */
  close(graceMs?: number): Promise<void>;
}

export interface ServeOptions extends ParseListenOptions {
  /** `host:port` or an already parsed address. Default 127.0.0.1:8787. */
  listen?: string | ListenAddress;
}

/** Anything with a fetch handler node-server accepts, e.g. a Hono app. */
export type Fetchable = { fetch: Parameters<typeof nodeServe>[0]["fetch"] };

/** Starts listening; resolves once the socket is bound, rejects with a {@link ListenError} when it cannot be. */
export async function serve(app: Fetchable, options: ServeOptions = {}): Promise<ServerHandle> {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const address =
    typeof listen === "string" ? parseListen(listen, options) : parseListen(formatAddress(listen), options);
  const flag = options.flag ?? "--listen";
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, address, flag));
    const server = nodeServe({ fetch: app.fetch, hostname: address.host, port: address.port }, (info) => {
      server.off("error", onError);
      const bound: ListenAddress = { host: address.host, port: info.port };
      resolve({
        url: `http://${formatAddress(bound)}`,
        address: bound,
        close: (graceMs = 5_000) =>
          new Promise<void>((done, fail) => {
            const timer = setTimeout(() => {
              if ("closeAllConnections" in server) server.closeAllConnections();
            }, graceMs);
            timer.unref();
            server.close((error) => {
              clearTimeout(timer);
              if (error) fail(error);
              else done();
            });
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }),
      });
    });
    server.once("error", onError);
  });
}

function listenError(error: NodeJS.ErrnoException, address: ListenAddress, flag: string): Error {
  const where = formatAddress(address);
  switch (error.code) {
    case "EADDRINUSE":
      return new ListenError(
        `cannot listen on ${where}: the address is already in use (another fleetwave agent or program ` +
          `holds it; see \`ss -ltnp\`); stop that program or pass a free ${flag} host:port`,
      );
    case "EACCES":
      return new ListenError(
        `cannot listen on ${where}: permission denied (ports below 1024 need privileges); pass ${flag} ` +
          "with a port from 1024 up",
      );
    case "EADDRNOTAVAIL":
      return new ListenError(
        `cannot listen on ${where}: no network interface of this machine has that address; pass ${flag} ` +
          `with one of its addresses, e.g. ${DEFAULT_LISTEN}`,
      );
    default:
      return error;
  }
}

/**
 * A front for the server that answers 503 until {@link LateApp.use}: the CLI binds its port first
 * (so a taken port fails before the agent touches anything), then starts the agent, then serves it.
 */
export interface LateApp extends Fetchable {
  use(app: Fetchable): void;
}

export function lateApp(): LateApp {
  let target: Fetchable | undefined;
  return {
    fetch: (request, env) =>
      target
        ? target.fetch(request, env)
        : Response.json(
            { error: "the agent is starting (recovering interrupted updates); try again shortly" },
            { status: 503, headers: { "Retry-After": "5", "Cache-Control": "no-store" } },
          ),
    use(app) {
      target = app;
    },
  };
}

function formatAddress({ host, port }: ListenAddress): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
