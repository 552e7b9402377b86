import type { NotifyEvent, NotifyEventType } from "./events.ts";

type OmitFromEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The JSON body POSTed to webhooks: `event`, `at` and `host`, then the event's own fields
 * (`bot`, `tenant`, `rollout`, `from`, `to`, `reason`, `changelog`, `failed`, `commit`,
 * `problems`, … as the event has them). Admin-grade detail: webhooks belong to the operator.
 */
export type WebhookPayload = { event: NotifyEventType; at: string; host: string } & OmitFromEach<
  NotifyEvent,
  "type" | "at"
>;

export function webhookPayload(event: NotifyEvent, host: string, at: string): WebhookPayload {
  const { type, at: _at, ...fields } = event;
  return { event: type, at, host, ...fields };
}
