/**
 * Preloaded into the Portkey gateway (`node --require`): its start-server passes a port and no
 * host to listen(), so it would listen on every interface. The bench keeps everything on
 * 127.0.0.1, so a listen() given a port and no host gets 127.0.0.1; nothing else changes.
 */
import net from 'node:net';

const listen = net.Server.prototype.listen;

function onLoopback(this: net.Server, ...args: unknown[]): net.Server {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function')) {
    if (args[1] === undefined) args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  }
  return (listen as (...rest: unknown[]) => net.Server).apply(this, args);
}

net.Server.prototype.listen = onLoopback as typeof net.Server.prototype.listen;
