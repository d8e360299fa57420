/** The demo's fixed Prometheus address, checked before anything starts (the other ports are picked free). */
import net from 'node:net';

/** Throws a clear error when `host:port` is taken. */
export function assertFree(host: string, port: number, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'EADDRINUSE' ? `${host}:${port} is in use; ${hint}` : `${host}:${port}: ${error.message}`)));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
