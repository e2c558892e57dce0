/**
 * The target under test for the kernel-initiator and bad-input tests: the real `iscsi-sim serve`
 * started through test/integration/support/system-process.ts (port 0 portal, ready line), seen as one
 * host:port + IQN.
 *
 * ISCSI_SIM_TEST_TARGET=HOST:PORT/IQN points the tests at an already running target instead (e.g.
 * tgtd while developing a test); then there is no process and no log.
 */
import { startSystem } from '../integration/support/system-process.ts';

export interface TargetProcess {
  host: string;
  port: number;
  iqn: string;
  /** Everything the server printed so far (JSON log lines); empty for an external target. */
  log(): string;
  /** Resolves true once the server printed `text` (an output event), false at the bound; false for an external target. */
  printed(text: string, timeoutMs?: number): Promise<boolean>;
  /** True while the server process runs (always true for an external target). */
  alive(): boolean;
  external: boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Quick form: LUN sizes like '256M', one sparse file each in a fresh temp dir. */
  luns?: string[];
  /** Quick form: file (default) or memory LUNs. */
  backstore?: 'file' | 'memory';
  iqn?: string;
  /** Config-file form instead (portals may use port 0); the target named `iqn` should be in it. */
  config?: Record<string, unknown>;
}

function externalTarget(spec: string): TargetProcess {
  const m = /^([^:/]+):(\d+)\/(.+)$/.exec(spec);
  if (!m) throw new Error(`ISCSI_SIM_TEST_TARGET must be HOST:PORT/IQN, got ${spec}`);
  const [, host, port, iqn] = m;
  return { host, port: Number(port), iqn, external: true, log: () => '', printed: async () => false, alive: () => true, stop: async () => undefined };
}

export async function startTarget(options: StartOptions = {}): Promise<TargetProcess> {
  if (process.env.ISCSI_SIM_TEST_TARGET) return externalTarget(process.env.ISCSI_SIM_TEST_TARGET);
  const iqn = options.iqn ?? 'iqn.2026-11.org.iscsi-sim:test';
  const system = await startSystem(options.config ? { config: options.config } : { luns: options.luns ?? ['256M'], iqn, ...(options.backstore === undefined ? {} : { backstore: options.backstore }) });
  const portal = system.summary.portals[0];
  return {
    host: portal.address, port: portal.port, iqn, external: false,
    log: () => system.output(), printed: (text, timeoutMs) => system.printed(text, timeoutMs), alive: () => system.alive(),
    stop: async () => {
      await system.stop();
    },
  };
}
