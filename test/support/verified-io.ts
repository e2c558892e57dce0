/**
 * Good sessions for robustness tests: verified I/O that runs until stopped, through the raw test
 * initiator and through QEMU's iSCSI driver (a real initiator).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../integration/support/tools.ts';
import type { TestSession } from './iscsi-wire/session.ts';

export interface VerifiedIo {
  verified(): number;
  failed(): boolean;
  stop(): Promise<{ verified: number; errors: string[] }>;
}

/** Verified I/O until `stop()`: writes random blocks of ioBytes, reads each back, compares. */
export function rawVerifiedIo(session: TestSession, blocks: number, ioBytes = 64 * 1024): VerifiedIo {
  let running = true;
  const errors: string[] = [];
  let verified = 0;
  const perIo = ioBytes / session.blockSize;
  const loop = (async () => {
    for (let i = 0; running && errors.length === 0; i++) {
      const lba = (i * 7919 * perIo) % (blocks - perIo);
      const data = randomBytes(ioBytes);
      try {
        const w = await session.write10(lba, data);
        if (w.status !== 0) errors.push(`write lba ${lba}: status 0x${w.status.toString(16)}`);
        const r = await session.read10(lba, perIo);
        if (r.status !== 0) errors.push(`read lba ${lba}: status 0x${r.status.toString(16)}`);
        else if (!r.data.equals(data)) errors.push(`read lba ${lba}: data differs from what was written`);
        else verified++;
      } catch (e) {
        errors.push(`I/O ${i}: ${(e as Error).message}`);
      }
    }
  })();
  return {
    verified: () => verified,
    failed: () => errors.length > 0,
    async stop() {
      running = false;
      await loop;
      return { verified, errors };
    },
  };
}

/**
 * A real initiator beside the raw one: QEMU's iSCSI driver copies a random image onto LUN 1 and
 * compares it back, over and over until `stop()`.
 */
export function qemuVerifiedCopies(url: string): Pick<VerifiedIo, 'stop'> {
  const dir = mkdtempSync(join(tmpdir(), 'iscsi-sim-bad-input-'));
  const image = join(dir, 'random.img');
  writeFileSync(image, randomBytes(8 << 20));
  let running = true;
  let verified = 0;
  const errors: string[] = [];
  const loop = (async () => {
    while (running && errors.length === 0) {
      const copy = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, url]);
      if (copy.code !== 0) errors.push(`qemu-img convert: ${copy.stderr.trim()}`);
      const cmp = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', image, url]);
      if (cmp.code !== 0) errors.push(`qemu-img compare (exit ${cmp.code}): ${cmp.stdout.trim()} ${cmp.stderr.trim()}`);
      else verified++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      rmSync(dir, { recursive: true, force: true });
      return { verified, errors };
    },
  };
}

