import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { Agent } from "#fleetwave/agent/agent.ts";
import { ReconcileSchedule } from "#fleetwave/agent/reconcile-schedule.ts";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { DEFAULT_SECRETS_DIR } from "#fleetwave/engine/secrets.ts";
import { UsageError } from "#fleetwave/errors.ts";
import type { TrustOptions } from "#fleetwave/git/verify.ts";
import {
  createApp,
  lateApp,
  parseApiTokens,
  parseListen,
  serve,
  WEBHOOK_SECRET_ENV,
} from "#fleetwave/http/index.ts";
import {
  DEFAULT_LINK_TTL_MS,
  LINK_KEY_ENV,
  LINK_TTL_ENV,
  type LinkSigning,
  linkKey,
  PUBLIC_URL_ENV,
} from "#fleetwave/links/tenant-link.ts";
import { USED_LINKS_FILE, UsedLinks } from "#fleetwave/links/used-links.ts";
import { createLogger, defaultLogFormat, logFormat, logLevel } from "#fleetwave/log/logger.ts";
import { hostId, httpUrl } from "#fleetwave/model/primitives.ts";
import { createNotifier } from "#fleetwave/notify/index.ts";
import { type Command, parseFlags } from "../command.ts";
import { durationMs } from "../duration.ts";

const flagsSchema = z.strictObject({
  repo: z.string({ message: "the GitOps repository URL or path is required" }).min(1),
  host: hostId,
  branch: z.string().min(1).default("main"),
  "data-dir": z.string().optional(),
  listen: z.string().default("127.0.0.1:8787"),
  "allow-remote": z.boolean().default(false),
  "public-url": httpUrl.optional(),
  "link-ttl": durationMs.optional(),
  interval: durationMs.default(30_000),
  once: z.boolean().default(false),
  "verify-commits": z.boolean().default(false),
  "allowed-signers": z.string().min(1).optional(),
  "signing-key": z.string().min(1).optional(),
  "secrets-dir": z.string().min(1).default(DEFAULT_SECRETS_DIR),
  "log-format": logFormat.optional(),
  "log-level": logLevel.default("info"),
});

const identitySchema = z.string().regex(/^(.+?)\s*<([^<>\s]+@[^<>\s]+)>$/, {
  message: 'FLEETWAVE_GIT_AUTHOR must look like "Name <email>"',
});

/** --verify-commits, --allowed-signers and --signing-key, checked before anything starts. */
async function trustFlags(
  cwd: string,
  flags: z.output<typeof flagsSchema>,
): Promise<{ trust?: TrustOptions; signingKey?: string }> {
  const readable = async (flag: string, path: string) => {
    const full = resolve(cwd, path);
    await access(full, constants.R_OK).catch(() => {
      throw new UsageError(`--${flag} ${path}: the file does not exist or cannot be read`);
    });
    return full;
  };
  const signingKey = flags["signing-key"] ? await readable("signing-key", flags["signing-key"]) : undefined;
  if (!flags["verify-commits"]) {
    if (flags["allowed-signers"])
      throw new UsageError("--allowed-signers is used only with --verify-commits");
    return signingKey ? { signingKey } : {};
  }
  if (!flags["allowed-signers"])
    throw new UsageError(
      "--verify-commits needs --allowed-signers FILE (the keys whose signatures are trusted)",
    );
  if (!signingKey)
    throw new UsageError(
      "--verify-commits needs --signing-key KEY: this agent's own status commits must verify on every agent too",
    );
  return {
    trust: { allowedSignersFile: await readable("allowed-signers", flags["allowed-signers"]) },
    signingKey,
  };
}

export const agentCommand: Command = {
  name: "agent",
  summary: "run the on-host agent: pull desired state, update this host's bots, commit results",
  usage: `Usage: fleetwave agent --repo URL|PATH --host ID [--branch main] [--data-dir DIR]
                       [--listen 127.0.0.1:8787 [--allow-remote]] [--interval 30s] [--once]
                       [--public-url URL] [--link-ttl 7d]
                       [--verify-commits --allowed-signers FILE] [--signing-key KEY]
                       [--secrets-dir /etc/fleetwave/secrets]
                       [--log-format json|text] [--log-level debug|info|warn|error]

Keeps a clone of the GitOps repository in DATA-DIR/repo (default /var/lib/fleetwave/<host>),
reconciles the bots declared for --host, executes rollout waves and commits each host's
status to fleet-state/status/<host>.yaml. It reconciles at start, then --interval (± 10 %)
after each reconcile, or as soon as a wave's pause ends or a waiting tenant's window opens if
that is sooner, and on each webhook. --once runs one full reconcile and exits 1 when an
update failed or a declared bot is left not running. Serves the HTTP API and dashboard on --listen
(loopback only). --allow-remote says the agent is reachable from other machines, on a --listen
address beyond loopback or through a reverse proxy on this one: every route then needs a token.
With FLEETWAVE_LINK_KEY and --public-url (the agent's URL as tenants reach it, e.g. behind a TLS
proxy), manual tenants' emails carry a signed single-use "Update now" link valid for --link-ttl.
Metrics for Prometheus are on /metrics.
Logs go to stderr, one line per record with the host and, where relevant, the bot, rollout and
step: readable text by default, JSON lines under systemd (when JOURNAL_STREAM is set) or with
--log-format json.
One agent per data dir (a second one exits naming the first one's pid) and one per host: an
agent that finds another live agent for --host in the status file does nothing and says why.
--verify-commits: act only on fleet-state commits whose signature verifies (SSH keys of the
--allowed-signers file, OpenPGP keys of gpg's keyring); the first commit that does not verify
and everything after it are ignored, the agent keeps the last verified commit and says why.
It needs --signing-key: an SSH private key every commit of this agent is signed with (its public
key belongs in the allowed signers file of every agent).
A bot's env value { fromFile: PATH } is read when its container is created; PATH must resolve
inside SECRETS-DIR/<tenant>/ (a missing file leaves the bot as it is and names the file).

Environment:
  DOCKER_HOST                       Engine socket (default /var/run/docker.sock)
  FLEETWAVE_API_TOKENS              name[/role]:token,...; role operator (default), read or
                                    tenant=<id>; the name is the git actor
  FLEETWAVE_WEBHOOK_SECRET          secret of the GitHub push webhook (POST /webhooks/github)
  FLEETWAVE_GIT_AUTHOR              "Name <email>" of the agent's commits
  FLEETWAVE_GIT_TIMEOUT             limit of each git clone, fetch and push (default 60s)
  SMTP_URL                          e.g. smtp://user:pass@127.0.0.1:587; unset = no email
  FLEETWAVE_WEBHOOK_SIGNING_SECRET  HMAC secret for outgoing webhooks
  FLEETWAVE_DASHBOARD_URL           link used in tenant emails for "Update now" without link key
  FLEETWAVE_ALLOW_REMOTE            true = --allow-remote (for the systemd unit)
  FLEETWAVE_LINK_KEY                HMAC key (>= 32 chars) of the tenant links
  FLEETWAVE_PUBLIC_URL              default of --public-url
  FLEETWAVE_LINK_TTL                default of --link-ttl (7d)`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    const tokens = parseApiTokens(io.env.FLEETWAVE_API_TOKENS);
    const author = io.env.FLEETWAVE_GIT_AUTHOR
      ? identitySchema.safeParse(io.env.FLEETWAVE_GIT_AUTHOR)
      : undefined;
    if (author && !author.success) throw new UsageError(author.error.issues[0]!.message);
    const gitTimeout = io.env.FLEETWAVE_GIT_TIMEOUT
      ? durationMs.safeParse(io.env.FLEETWAVE_GIT_TIMEOUT)
      : undefined;
    if (gitTimeout && !gitTimeout.success)
      throw new UsageError(`FLEETWAVE_GIT_TIMEOUT: ${gitTimeout.error.issues[0]!.message}`);
    const identity = author?.success ? /^(.+?)\s*<(.+)>$/.exec(author.data) : null;
    const allowRemote = flags["allow-remote"] || allowRemoteEnv(io.env[ALLOW_REMOTE_ENV]);
    const listen = flags.once ? undefined : parseListen(flags.listen, { allowRemote });
    // Reachable from other machines, directly or through a proxy on this one: tokens everywhere.
    const remote = listen !== undefined && allowRemote;
    if (remote && tokens.length === 0) {
      throw new UsageError(
        "--allow-remote: every route needs a token when the agent is reachable from other machines; set FLEETWAVE_API_TOKENS",
      );
    }
    const links = linkSigning(flags, io.env);
    const repo =
      /^[a-z]+:\/\//.test(flags.repo) || flags.repo.includes("@") ? flags.repo : resolve(io.cwd, flags.repo);
    const dataDir = resolve(io.cwd, flags["data-dir"] ?? `/var/lib/fleetwave/${flags.host}`);
    const trust = await trustFlags(io.cwd, flags);
    const logger = createLogger({
      host: flags.host,
      format: flags["log-format"] ?? defaultLogFormat(io.env),
      level: flags["log-level"],
      write: (line) => io.err(line.replace(/\n$/, "")),
      // Colours only for a person at a terminal; NO_COLOR (no-color.org) turns them off.
      colorize: process.stderr.isTTY === true && !io.env.NO_COLOR,
    });
    const notifyLog = logger.child({ component: "notify" });
    const httpLog = logger.child({ component: "http" });

    const agent = new Agent({
      repo,
      host: flags.host,
      branch: flags.branch,
      dataDir,
      docker: new DockerAdapter(dockerFromEnv(io.env)),
      ...(identity ? { identity: { name: identity[1]!, email: identity[2]! } } : {}),
      ...(gitTimeout?.success ? { gitTimeoutMs: gitTimeout.data } : {}),
      ...trust,
      secretsDir: resolve(io.cwd, flags["secrets-dir"]),
      notifier: (state) =>
        createNotifier({
          dataDir,
          host: flags.host,
          fleet: state.fleet,
          tenants: state.tenants,
          env: io.env,
          ...(links ? { links } : {}),
          log: (line) => notifyLog.info(line),
        }),
      logger,
    });
    // Bound before the agent starts: a taken port is reported before anything is touched.
    const front = lateApp();
    const server = listen ? await serve(front, { listen }) : undefined;
    await agent.start().catch(async (error: unknown) => {
      await server?.close();
      throw error;
    });

    if (flags.once) {
      const report = await agent.reconcile("--once");
      await agent.stop();
      for (const line of report.failed) io.err(`failed: ${line}`);
      for (const line of report.errors) io.err(`error: ${line}`);
      for (const line of report.down) io.err(`down: ${line}`);
      io.out(
        `reconciled ${flags.host}: ${report.outcomes.length} updates, ${report.failed.length} failed, ${report.down.length} bots down`,
      );
      return report.failed.length > 0 || report.errors.length > 0 || report.down.length > 0 ? 1 : 0;
    }

    const used = links ? await UsedLinks.open(join(dataDir, USED_LINKS_FILE)) : undefined;
    front.use(
      createApp(agent, {
        tokens,
        webhookSecret: io.env[WEBHOOK_SECRET_ENV],
        remote,
        ...(links && used ? { links: { key: links.key, used, publicUrl: links.publicUrl } } : {}),
        log: (line) => httpLog.error(line),
      }),
    );
    logger.info(`listening on ${server!.url}`);
    const schedule = new ReconcileSchedule(agent, { intervalMs: flags.interval });
    schedule.start();

    return new Promise<number>((done) => {
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn(
            `${signal} again: exiting now; the journal lets the next start finish or undo any update`,
          );
          process.exit(130);
        }
        stopping = true;
        logger.info(`${signal}: finishing the bot step in flight, then pushing and exiting`);
        schedule.stop();
        void (async () => {
          await server!.close(5000);
          await agent.stop();
          done(0);
        })();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
  },
};

const ALLOW_REMOTE_ENV = "FLEETWAVE_ALLOW_REMOTE";

/** `true` or `1` is the systemd unit's way to pass --allow-remote (agent.env); unset or `false` is off. */
function allowRemoteEnv(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw new UsageError(`${ALLOW_REMOTE_ENV}: expected true or false, got "${value}"`);
}

/** The tenant links' key, public URL and lifetime; undefined when FLEETWAVE_LINK_KEY is unset. */
function linkSigning(
  flags: { "public-url"?: string | undefined; "link-ttl"?: number | undefined },
  env: Readonly<Record<string, string | undefined>>,
): LinkSigning | undefined {
  const key = linkKey(env[LINK_KEY_ENV]);
  const rawUrl = flags["public-url"] ?? (env[PUBLIC_URL_ENV] || undefined);
  const publicUrl = rawUrl === undefined ? undefined : httpUrl.safeParse(rawUrl);
  if (publicUrl && !publicUrl.success)
    throw new UsageError(`${PUBLIC_URL_ENV}: must be an http:// or https:// URL`);
  const rawTtl = env[LINK_TTL_ENV] ? durationMs.safeParse(env[LINK_TTL_ENV]) : undefined;
  if (rawTtl && !rawTtl.success) throw new UsageError(`${LINK_TTL_ENV}: ${rawTtl.error.issues[0]!.message}`);
  const ttlMs = flags["link-ttl"] ?? (rawTtl?.success ? rawTtl.data : DEFAULT_LINK_TTL_MS);
  if (key === undefined) {
    if (publicUrl) throw new UsageError(`--public-url is the base of tenant links: set ${LINK_KEY_ENV} too`);
    return undefined;
  }
  if (!publicUrl) {
    throw new UsageError(
      `${LINK_KEY_ENV} is set, so tenant emails carry links: give the agent's public URL with --public-url or ${PUBLIC_URL_ENV}`,
    );
  }
  if (ttlMs < 60_000) throw new UsageError("--link-ttl: links must work at least 1m");
  return { key, publicUrl: publicUrl.data, ttlMs };
}
