/**
 * Two CIM servers over fake views on loopback: A (local) knows B as a peer. B's portal group 1 is a
 * fake discovery target offering B's IQN; portal group 2 refuses connections. Probes are real
 * discovery sessions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CimClient } from '../../../../src/cim/client/client.ts';
import { startCimServer, type CimServerHandle } from '../../../../src/cim/index.ts';
import { endpointPath, servicePath, systemPath } from '../../../../src/cim/model/paths.ts';
import { discoveryProber } from '../../../../src/cim/providers/probe.ts';
import { getKey, type ObjectPath } from '../../../../src/cim/types.ts';
import { waitFor } from '../../../support/wait-for.ts';
import { fakeView } from './fake-view.ts';
import { refusedPortal, startFakeTarget } from './fake-discovery-target.ts';

export const IQN_A = 'iqn.2026-01.org.iscsi-sim:sysa.t1';
export const IQN_B = 'iqn.2026-01.org.iscsi-sim:sysb.t1';

export interface TwoSystems {
  readonly a: CimServerHandle;
  readonly b: CimServerHandle;
  readonly client: CimClient;
  readonly stateDir: string;
  readonly service: ObjectPath;
  readonly epA: ObjectPath;
  readonly epB1: ObjectPath;
  readonly epB2Refused: ObjectPath;
  readonly sysB: ObjectPath;
  /** Polls a job (bounded) until it leaves Running; returns its JobState. */
  finish(job: ObjectPath): Promise<number>;
  close(): Promise<void>;
}

function split(portal: string): { address: string; port: number } {
  const i = portal.lastIndexOf(':');
  return { address: portal.slice(0, i), port: Number(portal.slice(i + 1)) };
}

export async function startTwoSystems(opts: { stateDir?: string; user?: string; password?: string } = {}): Promise<TwoSystems> {
  const target = await startFakeTarget({ targets: [IQN_B] });
  const refused = await refusedPortal();
  const b = await startCimServer(fakeView({
    name: 'sysb', iqn: IQN_B,
    portals: [{ ...split(target.portal), portalGroupTag: 1, listening: true }, { ...split(refused), portalGroupTag: 2, listening: true }],
  }), { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false, peerRefreshMs: 3_600_000 });
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'cim-unit-'));
  const a = await startCimServer(fakeView({ name: 'sysa', iqn: IQN_A, stateDir, peers: [{ name: 'sysb', cimUrl: b.url }] }),
    { enabled: true, address: '127.0.0.1', port: 0, user: opts.user, password: opts.password, allowBasicAuthOverHttp: true },
    { probe: discoveryProber(30_000), peerRefreshMs: 3_600_000, peerTimeoutMs: 60_000 });
  const client = new CimClient({ url: a.url, user: opts.user, password: opts.password, timeoutMs: 60_000 });
  const finish = async (job: ObjectPath): Promise<number> => {
    let jobState = 0;
    const finished = await waitFor(async () => {
      const inst = await client.getInstance(job);
      const state = inst.properties.find((p) => p.name === 'JobState');
      jobState = state?.value.kind === 'value' ? Number(state.value.text) : 0;
      return jobState !== 4;
    }, 60_000, 25);
    if (!finished) throw new Error(`job ${String(getKey(job, 'InstanceID'))} never finished`);
    return jobState;
  };
  return {
    a, b, client, stateDir, finish,
    service: servicePath('sysa'),
    epA: endpointPath('sysa', `${IQN_A},t,0x1`),
    epB1: endpointPath('sysb', `${IQN_B},t,0x1`),
    epB2Refused: endpointPath('sysb', `${IQN_B},t,0x2`),
    sysB: systemPath('sysb'),
    close: async () => {
      await a.close();
      await b.close();
      await target.close();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
