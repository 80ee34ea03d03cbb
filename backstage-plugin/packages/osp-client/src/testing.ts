import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';

/**
 * Serves connect routes over gRPC on a loopback port, for tests that need a
 * real HTTP/2 peer without the sidecar binary.
 */
export async function serveRoutes(
  routes: (router: ConnectRouter) => void,
): Promise<{ address: string; close(): Promise<void> }> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.Http2Session>();
  server.on('session', s => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        // Clients keep HTTP/2 sessions open; close() would wait for them.
        for (const s of sessions) s.destroy();
      }),
  };
}
