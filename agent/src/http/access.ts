/**
 * Who may use which route (pure). Every route names what it needs; a request's principal is the
 * holder of its bearer token, or nobody. Nobody may read only while the agent listens on loopback;
 * a `read` token reads everything; a `tenant=<id>` token reads its tenant's bots and presses
 * "Update now" on them, and is refused everything else; an `operator` token may do anything.
 */
import type { AgentStatusView } from "./control.ts";
import type { Principal } from "./tokens.ts";

/**
 * - `health`: /healthz; any valid token (or nobody on loopback).
 * - `read`: the dashboard, rollouts and /metrics; fleet-wide data, so no tenant token.
 * - `status`: GET /api/status; a tenant token gets its own bots only.
 * - `whoami`: any valid token, never nobody.
 * - `update-bot`: POST /api/bots/:id/update; a tenant token for its own bots only.
 * - `operate`: every other POST under /api.
 */
export type Need = "health" | "read" | "status" | "whoami" | "update-bot" | "operate";

export type Decision = { allow: true; scope?: string } | { allow: false; status: 401 | 403; message: string };

const NEEDS_TOKEN = "authentication required: send Authorization: Bearer <token>";

export function decide(principal: Principal | undefined, need: Need, remote: boolean): Decision {
  if (principal === undefined) {
    if (!remote && (need === "health" || need === "read" || need === "status")) return { allow: true };
    return { allow: false, status: 401, message: NEEDS_TOKEN };
  }
  const role = principal.role;
  if (role.kind === "operator") return { allow: true };
  if (need === "health" || need === "whoami") return { allow: true };
  if (role.kind === "read") {
    if (need === "read" || need === "status") return { allow: true };
    return { allow: false, status: 403, message: `token "${principal.name}" may only read (role read)` };
  }
  if (need === "status" || need === "update-bot") return { allow: true, scope: role.tenant };
  return {
    allow: false,
    status: 403,
    message: `token "${principal.name}" may only read and update the bots of tenant ${role.tenant}`,
  };
}

/**
 * Whether a tenant-scoped request may act on `botId`: only a bot this host owns for that tenant.
 * A bot of another tenant and a bot that does not exist get the same answer, so a tenant token
 * cannot learn which bots exist.
 */
export function tenantOwnsBot(status: AgentStatusView, tenant: string, botId: string): boolean {
  return status.bots.some((b) => b.id === botId && b.tenant === tenant);
}

/** The status a tenant token sees: its own bots, no rollouts of others, no internal errors. */
export function tenantStatus(status: AgentStatusView, tenant: string): AgentStatusView {
  const { lastError: _internal, ...rest } = status;
  return { ...rest, bots: status.bots.filter((b) => b.tenant === tenant), rollouts: [] };
}
