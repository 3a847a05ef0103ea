import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused upload may go on arriving after its answer before the connection is cut. */
export const LINGER_MS = 2000;

/**
 * An answer sent before the request body was read (a refused upload) with
 * `connection: close`. Node ends such a response with `socket.destroySoon()`:
 * the socket is closed as soon as the answer is written, with the client's
 * body still arriving, so the kernel answers that body with a reset and a
 * client still writing it gets EPIPE or ECONNRESET instead of the answer —
 * measured with Node's http client: 60 of ~350 refused 11.5 MB uploads in
 * the hostile bench, 66 of 89 in refused-upload.test.ts.
 *
 * Instead the close lingers: after the answer, our side is shut (FIN) and
 * the socket stops reading, so the client's body waits in the kernel's
 * buffers (TCP flow control stops the sender) while the client reads the
 * answer and closes; after `lingerMs` the socket is destroyed. Nothing of
 * the body is read: draining it instead took the hostile bench's server
 * from 2.2 to 4.6 CPU-s in 20 s (a key looping refused 4k uploads).
 */
export function closeAfterAnswer(raw: IncomingMessage, lingerMs = LINGER_MS): void {
  const socket = raw.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!socket || typeof socket.destroySoon !== 'function') return;
  // Node calls this once the response is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    // Stop reading. Node has just resumed the request to throw its body away, and that resume runs on the next
    // tick (and restarts the socket): pausing after it, the request first, leaves nothing to restart it.
    setImmediate(() => {
      raw.pause();
      this.pause();
    });
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}
