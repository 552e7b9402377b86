/**
 * A loopback HTTP endpoint for agent tests: records every request and answers what the test says.
 * Stands in for a webhook receiver, or for whatever a test bot asks on start (`FLAKY_URL`).
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** The answer to a request (status 200); `index` counts the requests to the same path. */
  answer: (request: ReceivedRequest, index: number) => string;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const receiver: HttpReceiver = {
    url: "",
    requests: [],
    answer: () => "ok",
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const index = receiver.requests.filter((r) => r.path === request.path).length;
      receiver.requests.push(request);
      res.writeHead(200, { "content-type": "text/plain" }).end(receiver.answer(request, index));
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise((done) => server.close(() => done()));
  return receiver;
}
