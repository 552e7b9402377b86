import type { HealResult } from "../engine/heal-bot.ts";
import type { FleetBot } from "../model/fleet-state.ts";
import type { AgentRuntime } from "./runtime.ts";
import type { StatusWriter } from "./status-writer.ts";

/**
 * What the agent makes of a bot's and the Engine's health between updates: notes for the audit
 * commit, the tick report that `--once` exits on, the status file's engine state, and one admin
 * alert per bot and incident.
 */
export class BotHealth {
  constructor(
    private readonly rt: AgentRuntime,
    private readonly writer: StatusWriter,
  ) {}

  /** Records what healBot found and did; tells the admins once per incident. True when the bot is up. */
  async noteHealed(bot: FleetBot, healed: HealResult, notes: string[]): Promise<boolean> {
    const wasDown = healed.action !== "running";
    const up = healed.action === "running" || ("healthy" in healed && healed.healthy);
    const reason = "reason" in healed ? healed.reason : "it runs again";
    if (wasDown) notes.push(`${up ? "healed" : "down"}: ${bot.id}: ${reason}`);
    if (!up) this.rt.report.down.push(`${bot.id}: ${reason}`);
    const notice = this.rt.incidents.observe(bot.id, wasDown, up, this.rt.now());
    if (notice)
      await this.rt.notifier?.notify({
        type: notice.event,
        bot: bot.id,
        tenant: bot.tenant,
        since: notice.since,
        reason,
        ...(healed.action !== "missing" && healed.action !== "in-update" && healed.digest
          ? { digest: healed.digest }
          : {}),
      });
    return up;
  }

  /** Pings the Engine; while it is away the status says so (with since when) and no bot is touched. */
  async engineAnswers(): Promise<boolean> {
    if (await this.rt.o.docker.ping()) {
      this.rt.availability.markUp();
      delete this.rt.book.value.engine;
      return true;
    }
    this.rt.availability.markDown(this.rt.now());
    const since = this.rt.availability.unavailableSince!.toISOString();
    this.rt.book.value.engine = { state: "engine-unavailable", since };
    this.rt.report.errors.push(
      `the Docker Engine is unavailable since ${since}; no bot was touched (check dockerd)`,
    );
    await this.writer.commitStatus("docker engine unavailable", []);
    return false;
  }
}
