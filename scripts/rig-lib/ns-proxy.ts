/**
 * The HTTP door into one rig host. A node's HTTP API listens inside its namespace, where nothing of the machine's own
 * network reaches; this small process, started inside the namespace with `ip netns exec`, listens on a Unix socket
 * (a file, so any process of the machine can use it) and forwards every request to the node on the namespace's
 * loopback, streaming bodies both ways, event streams included. When the node does not answer it says so with a 502
 * and a `rig_node_unreachable` error, so a client tells a down node from the node's own errors.
 *
 *   node scripts/rig-lib/ns-proxy.ts SOCKET_PATH NODE_HTTP_PORT
 */
import { rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';

/** The error code of a request the node did not answer. */
export const UNREACHABLE_CODE = 'rig_node_unreachable';
/** The status of such a request. */
export const UNREACHABLE_STATUS = 502;
/** Marks a response made by the proxy itself rather than by the node. */
export const PROXY_HEADER = 'x-rig-proxy';

/** Headers of one connection, not of the message: each side has its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

function serve(socketPath: string, port: number): void {
  const server = createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: endToEnd(req.headers), agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? UNREACHABLE_STATUS, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(UNREACHABLE_STATUS, { 'content-type': 'application/json', [PROXY_HEADER]: 'unreachable' });
      res.end(JSON.stringify({ error: { code: UNREACHABLE_CODE, message: `the node does not answer: ${err.code ?? err.message}` } }));
    });
    req.pipe(upstream);
    // A client that leaves early (an event stream it stops reading) ends the request to the node too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  });
  // Event streams stay open for as long as the client wants.
  server.requestTimeout = 0;
  rmSync(socketPath, { force: true });
  server.listen(socketPath);
  const stop = (): void => {
    server.close();
    rmSync(socketPath, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.main) {
  const [socketPath, portText] = process.argv.slice(2);
  const port = Number(portText);
  if (socketPath === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    process.stderr.write('usage: ns-proxy.ts SOCKET_PATH NODE_HTTP_PORT\n');
    process.exit(2);
  }
  serve(socketPath, port);
}
