/**
 * The running lab's control socket (`<state dir>/lab.sock`, a Unix socket only the user can reach):
 * one JSON request line, one JSON answer line. `iscsi-sim site down|up|list` uses it to take a part
 * (redis, primary, peer) down on purpose and bring it back.
 */
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PartStatus } from './supervisor.ts';

export type LabRequest =
  | { readonly op: 'down'; readonly part: string; readonly kill: boolean }
  | { readonly op: 'up'; readonly part: string }
  | { readonly op: 'list' };

export interface LabAnswer {
  readonly ok: boolean;
  readonly message: string;
  readonly parts: readonly PartStatus[];
}

export interface LabControlHandlers {
  down(part: string, kill: boolean): Promise<string>;
  up(part: string): Promise<string>;
  parts(): PartStatus[];
}

export function labSocketPath(stateDir: string): string {
  return join(stateDir, 'lab.sock');
}

/** Listens on the socket (a stale one from a killed lab is replaced: the caller holds the state-dir lock). */
export async function serveLabControl(stateDir: string, handlers: LabControlHandlers): Promise<{ close(): Promise<void> }> {
  const path = labSocketPath(stateDir);
  await rm(path, { force: true });
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    const lines = createInterface({ input: socket });
    lines.once('line', (line) => {
      void answer(line, handlers).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  await chmod(path, 0o600);
  return {
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(path, { force: true });
    },
  };
}

async function answer(line: string, handlers: LabControlHandlers): Promise<LabAnswer> {
  try {
    const request = JSON.parse(line) as LabRequest;
    let message: string;
    if (request.op === 'down') message = await handlers.down(request.part, request.kill);
    else if (request.op === 'up') message = await handlers.up(request.part);
    else if (request.op === 'list') message = '';
    else throw new Error(`unknown request ${JSON.stringify(request)}`);
    return { ok: true, message, parts: handlers.parts() };
  } catch (error) {
    return { ok: false, message: (error as Error).message, parts: handlers.parts() };
  }
}

/** Sends one request to the lab running on `stateDir`; rejects naming why when no lab answers. */
export function askLab(stateDir: string, request: LabRequest, timeoutMs = 90_000): Promise<LabAnswer> {
  const path = labSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`the lab on ${stateDir} did not answer within ${timeoutMs / 1000} s`)); }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`no lab running on ${stateDir} (${path}: ${error.code ?? error.message})`));
    });
    socket.once('connect', () => {
      createInterface({ input: socket }).once('line', (line) => {
        clearTimeout(timer);
        socket.end();
        try {
          resolve(JSON.parse(line) as LabAnswer);
        } catch {
          reject(new Error(`the lab answered something unreadable: ${line.slice(0, 200)}`));
        }
      });
      socket.write(`${JSON.stringify(request)}\n`);
    });
  });
}
