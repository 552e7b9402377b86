import type { Fleet } from "../model/fleet.ts";
import type { Tenant } from "../model/tenant.ts";
import type { NotifyEvent } from "../notify/events.ts";

/** What the agent needs from notifications (agent/src/notify implements it). */
export interface Notifier {
  notify(event: NotifyEvent): Promise<boolean>;
  updateConfig(fleet: Fleet, tenants: readonly Tenant[]): void;
  flush(timeoutMs: number): Promise<unknown>;
  stop(): Promise<void> | void;
  pendingCount(): number;
}
