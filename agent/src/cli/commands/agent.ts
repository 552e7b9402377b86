import { resolve } from "node:path";
import { z } from "zod";
import { Agent } from "#fleetwave/agent/agent.ts";
import { DockerAdapter, dockerFromEnv } from "#fleetwave/docker/docker.ts";
import { UsageError } from "#fleetwave/errors.ts";
import {
  createApp,
  lateApp,
  parseApiTokens,
  parseListen,
  serve,
  WEBHOOK_SECRET_ENV,
} from "#fleetwave/http/index.ts";
import { createLogger, defaultLogFormat, logFormat, logLevel } from "#fleetwave/log/logger.ts";
import { hostId } from "#fleetwave/model/primitives.ts";
import { createNotifier } from "#fleetwave/notify/index.ts";
import { type Command, parseFlags } from "../command.ts";
import { durationMs } from "../duration.ts";

const flagsSchema = z.strictObject({
  repo: z.string({ message: "the GitOps repository URL or path is required" }).min(1),
  host: hostId,
  branch: z.string().min(1).default("main"),
  "data-dir": z.string().optional(),
  listen: z.string().default("127.0.0.1:8787"),
  interval: durationMs.default(30_000),
  once: z.boolean().default(false),
  "log-format": logFormat.optional(),
  "log-level": logLevel.default("info"),
});

const identitySchema = z.string().regex(/^(.+?)\s*<([^<>\s]+@[^<>\s]+)>$/, {
  message: 'FLEETWAVE_GIT_AUTHOR must look like "Name <email>"',
});

export const agentCommand: Command = {
  name: "agent",
  summary: "run the on-host agent: pull desired state, update this host's bots, commit results",
  usage: `Usage: fleetwave agent --repo URL|PATH --host ID [--branch main] [--data-dir DIR]
                       [--listen 127.0.0.1:8787] [--interval 30s] [--once]
                       [--log-format json|text] [--log-level debug|info|warn|error]

Keeps a clone of the GitOps repository in DATA-DIR/repo (default /var/lib/fleetwave/<host>),
reconciles the bots declared for --host, executes rollout waves and commits each host's
status to fleet-state/status/<host>.yaml. --once runs one full reconcile and exits 1 when an
update failed or a declared bot is left not running. Serves the HTTP API and dashboard on --listen
(loopback only), metrics for Prometheus on /metrics.
Logs go to stderr, one line per record with the host and, where relevant, the bot, rollout and
step: readable text by default, JSON lines under systemd (when JOURNAL_STREAM is set) or with
--log-format json.
One agent per data dir (a second one exits naming the first one's pid) and one per host: an
agent that finds another live agent for --host in the status file does nothing and says why.

Environment:
  DOCKER_HOST                       Engine socket (default /var/run/docker.sock)
  FLEETWAVE_API_TOKENS              name:token,... for POST routes; the name is the git actor
  FLEETWAVE_WEBHOOK_SECRET          secret of the GitHub push webhook (POST /webhooks/github)
  FLEETWAVE_GIT_AUTHOR              "Name <email>" of the agent's commits
  FLEETWAVE_GIT_TIMEOUT             limit of each git clone, fetch and push (default 60s)
  SMTP_URL                          e.g. smtp://user:pass@127.0.0.1:587; unset = no email
  FLEETWAVE_WEBHOOK_SIGNING_SECRET  HMAC secret for outgoing webhooks
  FLEETWAVE_DASHBOARD_URL           link used in tenant emails for "Update now"`,
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
    const listen = flags.once ? undefined : parseListen(flags.listen);
    const repo =
      /^[a-z]+:\/\//.test(flags.repo) || flags.repo.includes("@") ? flags.repo : resolve(io.cwd, flags.repo);
    const dataDir = resolve(io.cwd, flags["data-dir"] ?? `/var/lib/fleetwave/${flags.host}`);
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
      notifier: (state) =>
        createNotifier({
          dataDir,
          host: flags.host,
          fleet: state.fleet,
          tenants: state.tenants,
          env: io.env,
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

    front.use(
      createApp(agent, {
        tokens,
        webhookSecret: io.env[WEBHOOK_SECRET_ENV],
        log: (line) => httpLog.error(line),
      }),
    );
    logger.info(`listening on ${server!.url}`);
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      const jitter = flags.interval * (0.9 + Math.random() * 0.2);
      timer = setTimeout(() => {
        agent.requestReconcile("interval");
        schedule();
      }, jitter);
    };
    agent.requestReconcile("start");
    schedule();

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
        clearTimeout(timer);
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
