import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Lingering close, as web servers do it: when an answer closes its connection while the client is
 * still sending the body (a refused upload, a 413), Node ends the socket and destroys it at once;
 * the client's next write meets a reset and many clients (fetch, http.request) report EPIPE or
 * ECONNRESET instead of the answer they were sent. Here a socket that Node would destroy first
 * sends its FIN, then reads and discards what still arrives until the client ends, goes quiet for
 * `idleMs` or `totalMs` passes — so the client reads the answer. Bounded in time; nothing kept.
 */
export function lingerBeforeClosing(server: Server, { idleMs = 5_000, totalMs = 30_000 } = {}) {
  const lingering = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    socket.destroySoon = function lingeringDestroySoon(this: Socket) {
      if (this.destroyed) return;
      this.end();
      if (this.readableEnded) {
        if (this.writableFinished) this.destroy();
        else this.once('finish', () => this.destroy());
        return;
      }
      lingering.add(this);
      const done = () => {
        clearTimeout(idle);
        clearTimeout(total);
        lingering.delete(this);
        this.destroy();
      };
      let idle = setTimeout(done, idleMs).unref();
      const total = setTimeout(done, totalMs).unref();
      this.on('data', () => {
        clearTimeout(idle);
        idle = setTimeout(done, idleMs).unref();
      });
      this.once('end', done);
      this.once('close', done);
      this.resume();
    };
  });
  return {
    /** Ends every lingering socket now (server shutdown must not wait for slow clients). */
    closeLingering() {
      for (const socket of lingering) socket.destroy();
      lingering.clear();
    },
  };
}
