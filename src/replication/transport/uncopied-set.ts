/**
 * SET with a large binary value that goes to the socket as it is. ioredis copies a Buffer argument
 * into one freshly allocated command buffer, and auto-pipelining concatenates that into another: for an
 * epoch payload (megabytes) that is two allocations and two copies of the data per epoch, most of the
 * source's replication CPU in a profile. This command writes the RESP framing around the caller's
 * buffer instead (one corked writev), like ioredis's own Script command overrides toWritable.
 *
 * Sent with sendCommand() only (never inside a pipeline or MULTI, which would buffer the returned part
 * and put it after bytes written here). The caller keeps the value unchanged until the reply; after a
 * rejection the socket may still be sending it, so the buffer must not be reused then.
 */
import { Command } from 'ioredis';

export class UncopiedSet extends Command {
  constructor(private readonly key: string, private readonly value: Buffer, private readonly options: readonly string[]) {
    super('set', [key, value, ...options], { replyEncoding: 'utf8' });
  }

  override toWritable(socket: object): string {
    const stream = socket as NodeJS.WritableStream & { cork(): void; uncork(): void };
    stream.cork();
    stream.write(`*${3 + this.options.length}\r\n$3\r\nSET\r\n$${Buffer.byteLength(this.key)}\r\n${this.key}\r\n$${this.value.length}\r\n`);
    stream.write(this.value);
    // ioredis writes what this returns right away; the cork makes the three parts one writev.
    process.nextTick(() => stream.uncork());
    let tail = '\r\n';
    for (const option of this.options) tail += `$${Buffer.byteLength(option)}\r\n${option}\r\n`;
    return tail;
  }
}
