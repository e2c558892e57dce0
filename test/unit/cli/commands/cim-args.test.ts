import t from 'tap';
import { parseArgs } from '../../../../src/cli/commands/cim.ts';
import { formatObjectPath } from '../../../../src/cim/client/object-path-text.ts';

t.test('cim call --arg parsing: references with @, repeats make arrays', async (t) => {
  const args = parseArgs(['ElementName=x', 'LocalAccessPoints=@C.Name="a"', 'LocalAccessPoints=@C.Name="b"', 'Active=false'], 'ns');
  t.equal(args.ElementName, 'x');
  t.equal(args.Active, 'false');
  t.same(args.LocalAccessPoints, [{ className: 'C', namespace: 'ns', keys: { Name: 'a' } }, { className: 'C', namespace: 'ns', keys: { Name: 'b' } }]);
  t.throws(() => parseArgs(['novalue'], 'ns'), /NAME=VALUE/);
});

t.test('cim call --arg: a Synchronization pasted as GetReplicationRelationships printed it', async (t) => {
  const vol = (system: string, naa: string) => ({ className: 'MSISCSITARGET_StorageVolume', namespace: 'root/cimv2/storage/iscsitarget', keys: { SystemName: system, DeviceID: naa } });
  const sync = { className: 'MSISCSITARGET_StorageSynchronized', keys: { SystemElement: vol('primary', '6001405a'), SyncedElement: vol('peer', '6001405b') } };
  const printed = formatObjectPath(sync);
  t.match(printed, /^MSISCSITARGET_StorageSynchronized\.SystemElement="root\/cimv2\/storage\/iscsitarget:MSISCSITARGET_StorageVolume\.SystemName=\\"primary\\"/);
  for (const text of [`@${printed}`, printed]) {
    const args = parseArgs([`Synchronization=${text}`, 'Operation=12'], 'root/cimv2/storage/iscsitarget');
    t.same(args.Synchronization, { ...sync, namespace: 'root/cimv2/storage/iscsitarget' }, `references stay references (${text.slice(0, 1)})`);
    t.equal(args.Operation, '12');
  }
  t.same(parseArgs(['InstanceID=ISCSISIM:primary:RRC-1'], 'ns').InstanceID, 'ISCSISIM:primary:RRC-1', 'a string with colons stays a string');
});
