/**
 * The real CIM client (sblim wbemcli) against two real `iscsi-sim serve` processes (issue 4):
 * system A knows system B as a peer through B's own CIM server. Enumerations, GetInstance,
 * Associators, CreateRemoteReplicationCollection with a probed remote portal (4096 -> job 7 ->
 * collection via AffectedJobElement), AddToRemoteReplicationCollection, ModifyInstance of Active.
 *
 * wbemcli splits reference-array arguments on '.' and ',', so dots and commas inside key values are
 * sent percent-encoded (%2E, %2C); the server decodes them when matching references.
 * Integration tests use real processes only; the refused-portal (job Exception) path is covered by
 * the unit tests in test/unit/cim.
 */
import t from 'tap';
import { cliPath, startSystem, type RunningSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';
import { waitFor } from '../support/wait-for.ts';

const NS = 'root/cimv2/storage/iscsitarget';
const IQN_A = 'iqn.2026-11.org.iscsi-sim:cim.alpha';
const IQN_B = 'iqn.2026-11.org.iscsi-sim:cim.beta';
const CS = 'MSISCSITARGET_ComputerSystem';
const EP = 'MSISCSITARGET_iSCSIProtocolEndpoint';

function wbemEscape(v: string): string {
  return v.replace(/\./g, '%2E').replace(/,/g, '%2C');
}

function endpointRef(system: string, iqn: string, tpgt: number): string {
  return `${EP}.SystemCreationClassName="${CS}",SystemName="${system}",CreationClassName="${EP}",Name="${wbemEscape(`${iqn},t,0x${tpgt.toString(16)}`)}"`;
}

function hostOf(url: string): string {
  return url.replace(/^http:\/\//, '');
}

async function wbem(...args: string[]): Promise<string> {
  const r = await run('wbemcli', args, 120_000);
  if (r.code !== 0) throw new Error(`wbemcli ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Polls until `attempt` passes (bounded: 150 s, only to give up on a hang). */
async function eventually(what: string, attempt: () => Promise<boolean>): Promise<void> {
  if (!(await waitFor(attempt, 150_000, 250))) throw new Error(`gave up waiting for ${what}`);
}

function jobIdOf(cmOutput: string): string {
  const m = /InstanceID="(ISCSISIM:JOB-\d+)"/.exec(cmOutput);
  if (!m) throw new Error(`no job reference in: ${cmOutput}`);
  return m[1];
}

async function waitJob(base: string, jobId: string): Promise<string> {
  let out = '';
  await eventually(`job ${jobId} to finish`, async () => {
    out = await wbem('gi', `${base}:MSISCSITARGET_ConcreteJob.InstanceID="${jobId}"`);
    return !/JobState=4\b/.test(out);
  });
  return out;
}

t.test('wbemcli against two systems', { skip: missingTools({ wbemcli: 'sblim-wbemcli' }) }, async (t) => {
  const systems: RunningSystem[] = [];
  t.teardown(async () => {
    for (const s of systems.reverse()) await s.stop();
  });
  const b = await startSystem({
    config: {
      name: 'sysb',
      portals: [{ address: '127.0.0.1', port: 0, portalGroupTag: 1 }, { address: '127.0.0.1', port: 0, portalGroupTag: 2 }],
      targets: [{ iqn: IQN_B, portalGroupTags: [1, 2], luns: [{ size: '16M' }] }],
      cim: { address: '127.0.0.1', port: 0 },
    },
  });
  systems.push(b);
  t.ok(b.summary.cimUrl, 'system B serves CIM');
  const a = await startSystem({
    config: {
      name: 'sysa',
      portals: [{ address: '127.0.0.1', port: 0, portalGroupTag: 1 }],
      targets: [{ iqn: IQN_A, portalGroupTags: [1], luns: [{ size: '16M' }] }],
      cim: { address: '127.0.0.1', port: 0 },
      peers: [{ name: 'sysb', cimUrl: b.summary.cimUrl }],
    },
  });
  systems.push(a);
  const base = `http://${hostOf(a.summary.cimUrl ?? '')}/${NS}`;

  await t.test('ei of systems includes the peer learned from its CIM server', async (t) => {
    let out = '';
    await eventually('peer system', async () => {
      out = await wbem('ei', `${base}:CIM_ComputerSystem`);
      return out.includes('Name="sysb"');
    });
    t.match(out, /Name="sysa"/);
    t.match(out, /Name="sysb"/);
  });

  await t.test('ei of endpoints: one per target portal group, local and remote, Role 3', async (t) => {
    // The peer's ComputerSystem is listed (from config) before its CIM server was first reached; its
    // endpoints only once it was, which on a loaded machine can be after the test above returned.
    let out = '';
    await eventually('peer endpoints', async () => {
      out = await wbem('ei', '-nl', `${base}:CIM_iSCSIProtocolEndpoint`);
      return out.includes(`Name="${IQN_B},t,0x2"`);
    });
    t.match(out, `Name="${IQN_A},t,0x1"`);
    t.match(out, `Name="${IQN_B},t,0x1"`);
    t.match(out, `Name="${IQN_B},t,0x2"`);
    t.match(out, /-Role=3/);
    t.match(out, new RegExp(`PortalAddresses="${b.portal(0).replace(/\./g, '\\.')}"`));
  });

  await t.test('gi of this system and of a volume', async (t) => {
    const out = await wbem('gi', `${base}:${CS}.CreationClassName="${CS}",Name="sysa"`);
    t.match(out, /Dedicated=3,15/);
    const vols = await wbem('ein', `${base}:CIM_StorageVolume`);
    t.match(vols, /MSISCSITARGET_StorageVolume\.SystemCreationClassName/);
    const vol = await wbem('gi', vols.trim().split('\n')[0].replace(/^[^/]+\//, `http://${hostOf(a.summary.cimUrl ?? '')}/`));
    t.match(vol, /NumberOfBlocks=32768/);
  });

  const service = `${base}:MSISCSITARGET_ReplicationService.SystemCreationClassName="${CS}",SystemName="sysa",CreationClassName="MSISCSITARGET_ReplicationService",Name="ReplicationService"`;
  let collectionId = '';

  await t.test('cm CreateRemoteReplicationCollection probes the remote portal: 4096, job completes, AffectedJobElement leads to the collection', async (t) => {
    const out = await wbem('cm', service,
      `CreateRemoteReplicationCollection.ElementName="a-to-b",LocalAccessPoints=${endpointRef('sysa', IQN_A, 1)},RemoteAccessPoints=${endpointRef('sysb', IQN_B, 1)},RemoteComputerSystem=${CS}.CreationClassName="${CS}",Name="sysb"`);
    t.match(out, /CreateRemoteReplicationCollection: 4096/);
    const jobId = jobIdOf(out);
    const job = await waitJob(base, jobId);
    t.match(job, /JobState=7/);
    t.match(job, /OperationalStatus=2,17/);
    t.match(job, /PercentComplete=100/);
    const affected = await wbem('ai', '-ac', 'CIM_AffectedJobElement', `${base}:MSISCSITARGET_ConcreteJob.InstanceID="${jobId}"`);
    const m = /InstanceID="(ISCSISIM:sysa:RRC-\d+)"/.exec(affected);
    t.ok(m, 'the job affected a collection');
    collectionId = m?.[1] ?? '';
    t.match(affected, /ElementName="a-to-b"/);
    t.match(affected, /Active=TRUE/);
  });

  await t.test('ai from the collection reaches its local and remote endpoints and the remote system', async (t) => {
    const out = await wbem('ai', '-ac', 'CIM_MemberOfCollection', `${base}:MSISCSITARGET_RemoteReplicationCollection.InstanceID="${collectionId}"`);
    t.match(out, `Name="${IQN_A},t,0x1"`);
    t.match(out, `Name="${IQN_B},t,0x1"`);
    t.match(out, /MSISCSITARGET_ComputerSystem\.CreationClassName="MSISCSITARGET_ComputerSystem",Name="sysb"/);
    t.notMatch(out, `Name="${IQN_B},t,0x2"`);
  });

  await t.test('cm AddToRemoteReplicationCollection adds the second remote portal', async (t) => {
    const out = await wbem('cm', service,
      // A single-key reference must come before a reference array: wbemcli's argument splitter only
      // recognises the next parameter name when a comma follows it.
      `AddToRemoteReplicationCollection.ConnectivityCollection=MSISCSITARGET_RemoteReplicationCollection.InstanceID="${collectionId}",RemoteAccessPoints=${endpointRef('sysb', IQN_B, 2)}`);
    t.match(out, /AddToRemoteReplicationCollection: 4096/);
    t.match(await waitJob(base, jobIdOf(out)), /JobState=7/);
    const members = await wbem('ain', '-ac', 'CIM_MemberOfCollection', `${base}:MSISCSITARGET_RemoteReplicationCollection.InstanceID="${collectionId}"`);
    t.match(members, `Name="${IQN_B},t,0x2"`);
  });

  await t.test('cm with an endpoint already in an active collection answers 6 In Use', async (t) => {
    const out = await wbem('cm', service, `CreateRemoteReplicationCollection.ElementName="dup",LocalAccessPoints=${endpointRef('sysa', IQN_A, 1)}`);
    t.match(out, /CreateRemoteReplicationCollection: 6/);
  });

  await t.test('mi toggles Active', async (t) => {
    const path = `${base}:MSISCSITARGET_RemoteReplicationCollection.InstanceID="${collectionId}"`;
    await wbem('mi', path, 'Active=false');
    t.match(await wbem('gi', path), /Active=FALSE/);
    await wbem('mi', path, 'Active=true');
    t.match(await wbem('gi', path), /Active=TRUE/);
  });

  await t.test('interop: registered profiles and the profile -> system association', async (t) => {
    const interop = `http://${hostOf(a.summary.cimUrl ?? '')}/interop`;
    const out = await wbem('ei', `${interop}:CIM_RegisteredProfile`);
    t.match(out, /RegisteredName="Array"/);
    t.match(out, /RegisteredName="Replication Services"/);
    const sys = await wbem('ain', `${interop}:CIM_RegisteredProfile.InstanceID="SNIA:Array:1.8.0"`);
    t.match(sys, /Name="sysa"/);
  });

  await t.test('the CLI reaches the same providers: iscsi-sim cim peers / create-collection', async (t) => {
    const url = a.summary.cimUrl ?? '';
    const peers = await run(process.execPath, [cliPath, 'cim', '--url', url, 'peers'], 180_000);
    t.equal(peers.code, 0, peers.stderr);
    t.match(peers.stdout, /GetPeerSystems: 0/);
    t.match(peers.stdout, `Name="${IQN_B},t,0x2"`);
    const busy = await run(process.execPath, [cliPath, 'cim', '--url', url, 'create-collection', '--local', `${IQN_A},t,0x1`], 180_000);
    t.equal(busy.code, 2, 'a refused method exits 2');
    t.match(busy.stdout, /CreateRemoteReplicationCollection: 6 \(In Use\)/);
  });
});
