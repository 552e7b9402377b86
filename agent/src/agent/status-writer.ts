import type { ControlAction } from "../audit/actions.ts";
import { type AuditRecord, formatAuditCommit } from "../audit/commit-message.ts";
import type { ActionResult } from "../http/control.ts";
import type { HostStatus } from "../model/status.ts";
import { EditError } from "./fleet-edits.ts";
import { HEARTBEAT_EVERY_MS } from "./host-claim.ts";
import type { AgentRuntime } from "./runtime.ts";
import { HostHeldError } from "./workspace.ts";

/**
 * Everything the agent writes to git: this host's status commits (on its status ref), the queue
 * of unpushed commits, and edits of desired state (an API call, or a rollout stopped at its threshold).
 */
export class StatusWriter {
  /** The status last committed, without its timestamps: an unchanged status makes no commit. */
  lastCommittedBody = "";

  constructor(private readonly rt: AgentRuntime) {}

  body(status: HostStatus): string {
    const { updatedAt: _updatedAt, observedCommit: _observed, ...rest } = status;
    return JSON.stringify(rest);
  }

  /** Commits this host's status to its status ref when it changed (one commit per wave or reconcile). */
  async commitStatus(
    subject: string,
    records: AuditRecord[],
    extra: { rollout?: string; actor?: string; notes?: string[] } = {},
  ): Promise<void> {
    const body = this.body(this.rt.book.value);
    const notes = extra.notes ?? [];
    const quiet = !this.rt.book.heartbeatDue(this.rt.now(), HEARTBEAT_EVERY_MS);
    if (body === this.lastCommittedBody && records.length === 0 && notes.length === 0 && quiet) return;
    await this.rt.ws.lock.run(async () => {
      this.rt.book.observe(this.rt.desired.current?.commit ?? "none", this.rt.now());
      const message = formatAuditCommit({
        host: this.rt.host,
        subject,
        records,
        notes,
        ...(extra.rollout ? { rollout: extra.rollout } : {}),
        ...(extra.actor ? { actor: extra.actor } : {}),
      });
      await this.rt.ws.commitStatus(this.rt.book.toYaml(), message, extra.actor);
      this.lastCommittedBody = body;
    });
  }

  /** Must run under the workspace lock. */
  async pushQueued(): Promise<void> {
    const pushed = await this.rt.ws.push();
    this.rt.metrics.pushQueueLength = await this.rt.ws.unpushed();
    if (!pushed.ok) {
      this.rt.setError(
        pushed.held ? "host-held" : "git-push",
        `${pushed.error}; ${this.rt.metrics.pushQueueLength} commits queued locally`,
      );
    } else if (this.rt.lastError?.source === "git-push") {
      this.rt.lastError = undefined;
    }
  }

  /**
   * An edit of desired state for an API call or a threshold: applied to the fresh HEAD,
   * committed as `actor`, pushed, and re-applied on the newer HEAD when the push is rejected.
   */
  async editDesired(
    path: string,
    edit: (text: string) => string,
    subject: string,
    actor: string,
    action: ControlAction,
  ): Promise<ActionResult> {
    return this.rt.ws.lock.run(async () => {
      await this.rt.ws.sync();
      const message = formatAuditCommit({
        host: this.rt.host,
        subject,
        records: [],
        actor,
        action,
        ...("rollout" in action ? { rollout: action.rollout } : {}),
      });
      const apply = async (): Promise<boolean> => {
        const text = await this.rt.ws.read(path);
        const next = edit(text);
        if (next === text) return false;
        return this.rt.ws.commit({ [path]: next }, message, actor);
      };
      let changed: boolean;
      try {
        changed = await apply();
      } catch (error) {
        if (error instanceof EditError || error instanceof HostHeldError)
          return { ok: false, status: 409, message: error.message };
        if ((error as NodeJS.ErrnoException).code === "ENOENT")
          return { ok: false, status: 404, message: `${path} does not exist` };
        throw error;
      }
      if (!changed) return { ok: true, message: "already so; nothing to change" };
      let refused: EditError | undefined;
      const pushed = await this.rt.ws.push(async () => {
        try {
          await apply();
        } catch (error) {
          // Someone changed the same file first in a way this edit may not follow (e.g. aborted).
          if (error instanceof EditError) refused = error;
          throw error;
        }
      });
      await this.rt.desired.load();
      if (refused) return { ok: false, status: 409, message: refused.message };
      if (!pushed.ok) {
        this.rt.setError("git-push", pushed.error);
        return {
          ok: true,
          message: `committed locally; the push is queued: ${pushed.error}`,
          commit: await this.rt.ws.head(),
        };
      }
      return { ok: true, message: `${subject}: committed as ${actor}`, commit: pushed.commit };
    });
  }
}
