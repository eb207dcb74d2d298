import { createServer } from 'node:net';

/**
 * Asks the kernel for a free port by binding port 0, then releases it for the
 * child server. There is a small window where another process could grab it;
 * acceptable for a benchmark on a quiet machine, and it keeps the servers'
 * CLIs free of "print your port" plumbing.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}
