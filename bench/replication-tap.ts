/**
 * A replication tap: a socket that attaches to a private primary as a replica (`PSYNC ? -1`) and
 * reads the command stream the primary ships to its replicas, byte for byte. Redis 7 replicates a
 * script's *effects* (the writes it made, in MULTI/EXEC when there is more than one), which is
 * what Redis Enterprise Active-Active ships between regions, so these bytes are the proxy for the
 * cross-region replication cost of each write.
 */
import { Socket } from 'node:net';

/** One replicated command as it travelled: its name, arguments and size in RESP bytes. */
export interface ReplicatedCommand {
  name: string;
  args: string[];
  bytes: number;
}

const CRLF = 0x0d;

/**
 * Incremental parser of the replication command stream (RESP multi-bulk arrays). Feed it chunks
 * as they arrive, split anywhere; it returns the commands completed so far.
 */
export class ReplicationStreamParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ReplicatedCommand[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: ReplicatedCommand[] = [];
    let pos = 0;
    for (;;) {
      const parsed = parseCommand(this.buffer, pos);
      if (!parsed) break;
      out.push(parsed.command);
      pos = parsed.end;
    }
    this.buffer = this.buffer.subarray(pos);
    return out;
  }
}

/** The line starting at `pos` (without CRLF) and where the next one starts, or null if incomplete. */
function readLine(buf: Buffer, pos: number): { line: string; next: number } | null {
  const cr = buf.indexOf(CRLF, pos);
  if (cr < 0 || cr + 1 >= buf.length) return null;
  return { line: buf.toString('latin1', pos, cr), next: cr + 2 };
}

function parseCommand(buf: Buffer, start: number): { command: ReplicatedCommand; end: number } | null {
  const head = readLine(buf, start);
  if (!head) return null;
  if (!head.line.startsWith('*')) throw new Error(`unexpected replication stream line "${head.line}"`);
  const count = Number(head.line.slice(1));
  const args: string[] = [];
  let pos = head.next;
  for (let i = 0; i < count; i++) {
    const len = readLine(buf, pos);
    if (!len) return null;
    if (!len.line.startsWith('$')) throw new Error(`unexpected bulk header "${len.line}"`);
    const n = Number(len.line.slice(1));
    if (len.next + n + 2 > buf.length) return null;
    args.push(buf.toString('utf8', len.next, len.next + n));
    pos = len.next + n + 2;
  }
  const [name = '', ...rest] = args;
  return { command: { name: name.toUpperCase(), args: rest, bytes: pos - start }, end: pos };
}

export interface ReplicationTap {
  /** Every command replicated since the tap attached, in order. */
  readonly commands: ReplicatedCommand[];
  /** Replication stream bytes received since the tap attached (the RDB excluded). */
  bytes(): number;
  /** The primary's replication offset when the tap attached: `master_repl_offset` minus bytes(). */
  readonly startOffset: number;
  /** Resolves once the tap has received everything up to the primary's `offset`. */
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * Attaches to the primary at 127.0.0.1:`port` as a replica. The primary should run with a long
 * `repl-timeout` (the tap never sends REPLCONF ACK) and `repl-diskless-sync no` (the tap reads a
 * plain `$<length>` RDB payload).
 */
export function openReplicationTap(port: number, password?: string): Promise<ReplicationTap> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const parser = new ReplicationStreamParser();
    const commands: ReplicatedCommand[] = [];
    const waiters = new Set<() => void>();
    let received = 0;
    let preamble: Buffer = Buffer.alloc(0);
    let rdbLeft = -1;
    let startOffset = -1;
    let attached = false;
    const fail = (error: Error) => {
      socket.destroy();
      if (!attached) reject(error);
    };
    const stream = (chunk: Buffer) => {
      received += chunk.length;
      commands.push(...parser.push(chunk));
      for (const w of waiters) w();
    };
    const tap: ReplicationTap = {
      commands,
      bytes: () => received,
      get startOffset() {
        return startOffset;
      },
      waitFor(offset, timeoutMs = 60_000) {
        return new Promise<void>((done, failed) => {
          const check = () => {
            if (startOffset + received < offset) return;
            waiters.delete(check);
            clearTimeout(timer);
            done();
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            failed(new Error(`replication tap at ${startOffset + received}, waited for ${offset}`));
          }, timeoutMs);
          waiters.add(check);
          check();
        });
      },
      close: () => socket.destroy(),
    };
    socket.on('error', fail);
    socket.on('data', (chunk: Buffer) => {
      if (rdbLeft === 0) return stream(chunk);
      preamble = Buffer.concat([preamble, chunk]);
      // Before the stream: "+OK" (AUTH), newlines the primary sends while it prepares the RDB,
      // "+FULLRESYNC <replid> <offset>", then "$<length>" and the RDB itself.
      while (rdbLeft < 0) {
        const lf = preamble.indexOf(0x0a);
        if (lf < 0) return;
        const line = preamble.toString('latin1', 0, lf).trim();
        preamble = preamble.subarray(lf + 1);
        if (line.startsWith('-')) return fail(new Error(`replication tap refused: ${line}`));
        // PSYNC only once AUTH has answered: Redis refuses it while a reply is pending.
        if (line === '+OK' && startOffset < 0) socket.write('PSYNC ? -1\r\n');
        const full = /^\+FULLRESYNC \S+ (\d+)$/.exec(line);
        if (full) startOffset = Number(full[1]);
        if (line.startsWith('$')) rdbLeft = Number(line.slice(1));
      }
      const skip = Math.min(rdbLeft, preamble.length);
      rdbLeft -= skip;
      preamble = preamble.subarray(skip);
      if (rdbLeft === 0) {
        attached = true;
        resolve(tap);
        if (preamble.length > 0) stream(preamble);
      }
    });
    socket.connect(port, '127.0.0.1', () => {
      socket.write(password ? `AUTH ${password}\r\n` : 'PSYNC ? -1\r\n');
    });
  });
}
