/** The agent's HTTP API, dashboard and metrics. The agent implements AgentControl and calls createApp + serve. */
export { type AppOptions, createApp, type FleetwaveApp, MAX_REASON_LENGTH } from "./app.ts";
export type {
  ActionResult,
  AgentControl,
  AgentErrorView,
  AgentStatusView,
  BotState,
  BotView,
  RolloutControlState,
  RolloutDetailView,
  RolloutProgress,
  RolloutView,
} from "./control.ts";
export { rolloutDetailView, rolloutView } from "./control.ts";
export { AgentMetrics, type AgentMetricsOptions } from "./metrics.ts";
export {
  DEFAULT_LISTEN,
  isLoopbackAddress,
  type LateApp,
  type ListenAddress,
  ListenError,
  lateApp,
  parseListen,
  type ServeOptions,
  type ServerHandle,
  serve,
} from "./serve.ts";
export { API_TOKENS_ENV, type ApiToken, ApiTokensError, parseApiTokens } from "./tokens.ts";
export { WEBHOOK_SECRET_ENV } from "./webhook.ts";
