/**
 * Issue 12, with the real wbemcli against the lab (embedded Redis, primary and peer processes, a mirror
 * made through CIM):
 * - `wbemcli cm … GetReplicationRelationships` failed with "Parse Exception: Bad attribute list for
 *   VALUE" (wbemcli cannot parse VALUE.REFARRAY out parameters);
 * - the SyncedElement of StorageSynchronized named the peer's volume with the primary's CIM server as
 *   HOST, so `wbemcli gi` of it answered CIM_ERR_NOT_FOUND. The reference now carries the peer's
 *   server, and following it finds the volume.
 */
import t from 'tap';
import { join } from 'node:path';
import { CimClient } from '../../src/cim/client/client.ts';
import { servicePath } from '../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../src/cim/types.ts';
import { tempDir } from '../unit/replication/helpers.ts';
import { missingTools, run } from './support/tools.ts';
import { startLab } from './support/lab-process.ts';

const skip = missingTools({ wbemcli: 'sblim-wbemcli', 'redis-server': 'redis-server' });

async function wbem(...args: string[]): Promise<{ code: number | null; out: string }> {
  // The lab serves CIM over HTTPS with self-signed certificates.
  const r = await run('wbemcli', ['-noverify', ...args], 120_000);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

/** wbemcli prints a reference as `host:port/name/space` + `Class.keys` (no ':' between them). */
function followable(printed: string): string {
  const match = /^(\S+?:\d+)\/(\S+?)(MSISCSITARGET_\w+\..*)$/.exec(printed);
  if (match === null) throw new Error(`not a wbemcli reference: ${printed}`);
  return `https://${match[1]}/${match[2]}:${match[3]}`;
}

t.test('wbemcli follows replication references and parses GetReplicationRelationships', { skip }, async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-wbem-repl-');
  const lab = await startLab(t, { stateDir: join(dir, 'lab'), size: '16M', readyTimeoutMs: 180_000 });
  const { ready, exited } = lab;
  const [primary, peer] = ready.systems;
  const base = `${primary.cimUrl}/${TARGET_NAMESPACE}`;
  const service = `${base}:MSISCSITARGET_ReplicationService.SystemCreationClassName="MSISCSITARGET_ComputerSystem",SystemName="${primary.name}",CreationClassName="MSISCSITARGET_ReplicationService",Name="ReplicationService"`;

  const relationships = await wbem('cm', service, 'GetReplicationRelationships');
  t.equal(relationships.code, 0, 'wbemcli cm GetReplicationRelationships exits 0', { out: relationships.out });
  t.notMatch(relationships.out, /Parse Exception/);
  t.match(relationships.out, /GetReplicationRelationships: 0, Synchronizations \(reference\): \S+MSISCSITARGET_StorageSynchronized\.SystemElement=/);

  const syncs = await wbem('ei', `${base}:CIM_StorageSynchronized`);
  t.equal(syncs.code, 0, 'wbemcli ei CIM_StorageSynchronized exits 0', { out: syncs.out });
  const synced = /SyncedElement=(\S+?DeviceID="[0-9a-f]+")/.exec(syncs.out)?.[1];
  t.ok(synced, 'a SyncedElement is printed', { out: syncs.out });
  const peerHost = new URL(peer.cimUrl ?? '').host;
  t.ok(synced?.startsWith(`${peerHost}/`), `SyncedElement's HOST is the peer's CIM server (${peerHost})`, { synced });
  const volume = await wbem('gi', followable(synced ?? ''));
  t.equal(volume.code, 0, 'wbemcli gi of the SyncedElement reference finds the peer\'s volume', { out: volume.out });
  t.match(volume.out, new RegExp(`SystemName="${peer.name}"`));
  t.match(volume.out, /ElementName="iqn[^"]+peer\.disk\/0"/);

  // The project's client (a User-Agent, so DSP0201's VALUE.REFARRAY) reads the same method.
  const client = new CimClient({ url: primary.cimUrl ?? '', caFile: primary.cimCertificate, timeoutMs: 30_000 });
  const own = await client.invokeMethod({ ...servicePath(primary.name), namespace: TARGET_NAMESPACE }, 'GetReplicationRelationships', {});
  t.equal(own.returnValue, 0);
  t.equal(own.out.Synchronizations?.kind, 'refarray', 'other clients still get VALUE.REFARRAY');

  lab.process.kill('SIGINT');
  t.equal(await exited, 0, 'the lab stops on SIGINT');
});
