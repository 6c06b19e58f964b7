import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** A JSON answer of a fake venue's REST API. */
export interface RestAnswer {
  status: number;
  body: unknown;
}

/** Any HTTP request, with its body read (signed POST/PUT/DELETE endpoints need it). */
export interface VenueRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An answer, or `drop`: the request is taken but the connection is cut before any response. */
export type VenueAnswer = RestAnswer | { drop: true };

/**
 * More of a venue on the same port (signed order endpoints, private streams): asked first for
 * every request and WebSocket connection; what it does not take goes to the market fake.
 */
export interface VenuePlugin {
  request?(request: VenueRequest): VenueAnswer | undefined;
  /** Takes the connection (true) or leaves it to the market streams (false). */
  connection?(socket: WebSocket, path: string): boolean;
}

export interface VenueHandlers {
  /** Answers a GET; undefined is a 404 that is also recorded in `unknownRequests`. */
  rest(url: URL): RestAnswer | undefined;
  /** Any method, asked before `rest`; undefined falls through to `rest` (GET) or a 404. */
  request?(request: VenueRequest): VenueAnswer | undefined;
  /** A new WebSocket connection on `path`. */
  connection(socket: WebSocket, path: string): void;
}

/**
 * One HTTP server with a WebSocket server on the same loopback port, as a fake venue needs:
 * REST and streams on real sockets, so ccxt talks to it exactly as to the venue.
 */
export interface VenueServer {
  port: number;
  /** `http://127.0.0.1:<port>`: give as EXCHANGE_REST_URL. */
  restUrl: string;
  /** `ws://127.0.0.1:<port>`: give as EXCHANGE_WS_URL. */
  wsUrl: string;
  readonly sockets: Set<WebSocket>;
  /** Every REST path the fake was asked for, in order. */
  readonly requests: string[];
  /** REST paths the fake does not know (a ccxt change would show up here). */
  readonly unknownRequests: string[];
  /** Cuts every open WebSocket, as a venue restart or network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startVenueServer(handlers: VenueHandlers, port = 0): Promise<VenueServer> {
  const requests: string[] = [];
  const unknownRequests: string[] = [];
  const sockets = new Set<WebSocket>();
  const http = createServer(async (req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${url.pathname}${url.search}`);
    const method = req.method ?? 'GET';
    let body = '';
    if (handlers.request) {
      for await (const chunk of req) body += String(chunk);
    }
    const answer =
      handlers.request?.({ method, url, headers: req.headers, body }) ??
      (method === 'GET' ? handlers.rest(url) : undefined);
    if (answer && 'drop' in answer) {
      res.socket?.destroy();
      return;
    }
    if (!answer) unknownRequests.push(`${method} ${url.pathname}${url.search}`);
    const { status, body: json } = answer ?? { status: 404, body: { code: -1, msg: 'not found' } };
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  });
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (socket, req) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    handlers.connection(socket, new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  });
  http.listen(port, '127.0.0.1');
  await once(http, 'listening');
  const bound = (http.address() as AddressInfo).port;
  return {
    port: bound,
    restUrl: `http://127.0.0.1:${bound}`,
    wsUrl: `ws://127.0.0.1:${bound}`,
    sockets,
    requests,
    unknownRequests,
    dropConnections() {
      for (const socket of sockets) socket.terminate();
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Sends JSON if the socket is open; a closed socket just misses the message, like a real one. */
export function sendJson(socket: WebSocket, message: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}
