/** The intrinsic operation table over a live two-system model. */
import t from 'tap';
import { classParam, errorCode, imethod, instanceNameXml, NS, post, SERVICE_KEYS } from '../support/raw.ts';
import { startTwoSystems } from '../support/two-systems.ts';

t.test('intrinsic operations', async (t) => {
  const s = await startTwoSystems();
  t.teardown(() => s.close());
  await s.a.refreshPeers();
  const call = async (name: string, params: string, ns = NS): Promise<string> => {
    const r = await post(s.a.url, imethod(ns, name, params), { CIMMethod: name, CIMObject: encodeURIComponent(ns) });
    t.equal(r.status, 200);
    return r.text;
  };
  const sysA = `<IPARAMVALUE NAME="ObjectName">${instanceNameXml('MSISCSITARGET_ComputerSystem', { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' })}</IPARAMVALUE>`;

  await t.test('GetClass carries Key qualifiers and METHOD/PARAMETER declarations; no self-closing VALUE', async (t) => {
    const x = await call('GetClass', classParam('ClassName', 'MSISCSITARGET_ReplicationService'));
    t.match(x, /<CLASS NAME="MSISCSITARGET_ReplicationService" SUPERCLASS="CIM_ReplicationService">/);
    t.match(x, /<PROPERTY NAME="SystemName" TYPE="string"><QUALIFIER NAME="Key" TYPE="boolean"><VALUE>TRUE<\/VALUE>/);
    t.match(x, /<METHOD NAME="CreateRemoteReplicationCollection" TYPE="uint32">/);
    t.match(x, /<PARAMETER.REFARRAY NAME="LocalAccessPoints" REFERENCECLASS="CIM_ServiceAccessPoint">/);
    t.notMatch(x, /<VALUE\/>|<IRETURNVALUE\/>/);
  });

  await t.test('EnumerateClassNames, shallow and deep', async (t) => {
    const shallow = await call('EnumerateClassNames', classParam('ClassName', 'CIM_ServiceAccessPoint'));
    t.match(shallow, /CIM_ProtocolEndpoint/);
    t.notMatch(shallow, /CIM_iSCSIProtocolEndpoint/);
    const deep = await call('EnumerateClassNames', `${classParam('ClassName', 'CIM_ServiceAccessPoint')}<IPARAMVALUE NAME="DeepInheritance"><VALUE>true</VALUE></IPARAMVALUE>`);
    t.match(deep, /MSISCSITARGET_iSCSIProtocolEndpoint/);
    t.match(await call('EnumerateClasses', classParam('ClassName', 'CIM_Job')), /<CLASS NAME="CIM_ConcreteJob"/);
  });

  await t.test('EnumerateInstances with PropertyList and DeepInheritance=false', async (t) => {
    const pl = '<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Name</VALUE></VALUE.ARRAY></IPARAMVALUE>';
    const x = await call('EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem') + pl);
    t.match(x, /<PROPERTY NAME="Name" TYPE="string"><VALUE>sysb<\/VALUE>/);
    t.notMatch(x, /Dedicated/);
    const shallow = await call('EnumerateInstances', `${classParam('ClassName', 'CIM_ServiceAccessPoint')}<IPARAMVALUE NAME="DeepInheritance"><VALUE>FALSE</VALUE></IPARAMVALUE>`);
    t.match(shallow, /INSTANCE CLASSNAME="MSISCSITARGET_iSCSIProtocolEndpoint"/);
    t.notMatch(shallow, /PortalAddresses/);
    t.match(await call('EnumerateInstances', classParam('ClassName', 'CIM_StorageSynchronized')), /<IRETURNVALUE><\/IRETURNVALUE>/, 'empty until replication exists');
  });

  await t.test('Associators / AssociatorNames with AssocClass, ResultClass, Role, ResultRole', async (t) => {
    const all = await call('AssociatorNames', sysA);
    t.match(all, /MSISCSITARGET_ReplicationService/);
    t.match(all, /MSISCSITARGET_iSCSIProtocolEndpoint/);
    t.match(all, /MSISCSITARGET_StorageVolume/);
    const eps = await call('Associators', `${sysA}${classParam('AssocClass', 'CIM_HostedAccessPoint')}<IPARAMVALUE NAME="Role"><VALUE>Antecedent</VALUE></IPARAMVALUE><IPARAMVALUE NAME="ResultRole"><VALUE>Dependent</VALUE></IPARAMVALUE>`);
    t.match(eps, /<VALUE.OBJECTWITHPATH><INSTANCEPATH>/);
    t.notMatch(eps, /ReplicationService/);
    const wrongRole = await call('AssociatorNames', `${sysA}<IPARAMVALUE NAME="Role"><VALUE>Dependent</VALUE></IPARAMVALUE>`);
    t.match(wrongRole, /<IRETURNVALUE><\/IRETURNVALUE>/);
    const vols = await call('AssociatorNames', sysA + classParam('ResultClass', 'CIM_StorageVolume'));
    t.notMatch(vols, /iSCSIProtocolEndpoint/);
    t.match(vols, /StorageVolume/);
    t.equal(errorCode(await call('Associators', sysA + classParam('AssocClass', 'CIM_ComputerSystem'))), 4);
  });

  await t.test('a superclass name in an instance path still finds the instance', async (t) => {
    const viaBase = `<IPARAMVALUE NAME="InstanceName">${instanceNameXml('CIM_ComputerSystem', { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' })}</IPARAMVALUE>`;
    t.match(await call('GetInstance', viaBase), /<INSTANCE CLASSNAME="MSISCSITARGET_ComputerSystem">/);
    const assocViaBase = `<IPARAMVALUE NAME="ObjectName">${instanceNameXml('CIM_System', { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' })}</IPARAMVALUE>`;
    t.match(await call('AssociatorNames', assocViaBase), /MSISCSITARGET_ReplicationService/);
  });

  await t.test('References / ReferenceNames', async (t) => {
    const svc = `<IPARAMVALUE NAME="ObjectName">${instanceNameXml('MSISCSITARGET_ReplicationService', SERVICE_KEYS)}</IPARAMVALUE>`;
    const refs = await call('ReferenceNames', svc);
    t.match(refs, /MSISCSITARGET_HostedService/);
    t.match(refs, /MSISCSITARGET_ElementCapabilities/);
    const caps = await call('References', svc + classParam('ResultClass', 'CIM_ElementCapabilities'));
    t.notMatch(caps, /HostedService/);
    const capInst = await call('Associators', svc + classParam('AssocClass', 'CIM_ElementCapabilities'));
    t.match(capInst, /<PROPERTY.ARRAY NAME="SupportedReplicationTypes" TYPE="uint16"><VALUE.ARRAY><VALUE>4<\/VALUE><VALUE>5<\/VALUE>/);
    t.match(capInst, /<PROPERTY.ARRAY NAME="SupportedAsynchronousActions" TYPE="uint16"><VALUE.ARRAY><VALUE>23<\/VALUE><VALUE>24<\/VALUE><\/VALUE.ARRAY>/);
  });

  await t.test('ModifyInstance: writable collection properties only', async (t) => {
    await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'm' });
    const list = await call('EnumerateInstanceNames', classParam('ClassName', 'CIM_RemoteReplicationCollection'));
    const id = /<KEYVALUE VALUETYPE="string">([^<]+)<\/KEYVALUE>/.exec(list)?.[1] ?? '';
    const named = (props: string) => `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>${instanceNameXml('MSISCSITARGET_RemoteReplicationCollection', { InstanceID: id })}<INSTANCE CLASSNAME="MSISCSITARGET_RemoteReplicationCollection">${props}</INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE>`;
    const okText = await call('ModifyInstance', named('<PROPERTY NAME="Active" TYPE="boolean"><VALUE>false</VALUE></PROPERTY><PROPERTY NAME="ElementName" TYPE="string"><VALUE>renamed</VALUE></PROPERTY>'));
    t.match(okText, /<IMETHODRESPONSE NAME="ModifyInstance"><\/IMETHODRESPONSE>/);
    const gi = await call('GetInstance', `<IPARAMVALUE NAME="InstanceName">${instanceNameXml('MSISCSITARGET_RemoteReplicationCollection', { InstanceID: id })}</IPARAMVALUE>`);
    t.match(gi, /<PROPERTY NAME="Active" TYPE="boolean"><VALUE>FALSE<\/VALUE>/);
    t.match(gi, /<VALUE>renamed<\/VALUE>/);
    t.equal(errorCode(await call('ModifyInstance', named('<PROPERTY NAME="ConnectivityStatus" TYPE="uint16"><VALUE>3</VALUE></PROPERTY>'))), 7);
    t.equal(errorCode(await call('ModifyInstance', named('<PROPERTY NAME="Bogus" TYPE="string"><VALUE>3</VALUE></PROPERTY>'))), 12);
    t.equal(errorCode(await call('ModifyInstance', named('<PROPERTY NAME="Active" TYPE="boolean"><VALUE>perhaps</VALUE></PROPERTY>'))), 4);
  });

  await t.test('interop namespace', async (t) => {
    const x = await call('EnumerateInstances', classParam('ClassName', 'CIM_Namespace'), 'interop');
    t.match(x, /<VALUE>root\/cimv2\/storage\/iscsitarget<\/VALUE>/);
    const om = await call('EnumerateInstanceNames', classParam('ClassName', 'CIM_ObjectManager'), 'root/interop');
    t.match(om, /CIM_ObjectManager/);
  });
});
