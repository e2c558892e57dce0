/** Bad input gets a CIM error inside HTTP 200 (never a 500, never a crash). */
import t from 'tap';
import { CimClient } from '../../../../src/cim/client/client.ts';
import { startCimServer } from '../../../../src/cim/index.ts';
import { fakeView } from '../support/fake-view.ts';
import { classParam, errorCode, imethod, methodCall, NS, post } from '../support/raw.ts';

t.test('malformed requests', async (t) => {
  const server = await startCimServer(fakeView({ name: 'sysa' }), { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false });
  t.teardown(() => server.close());
  const url = server.url;
  const ok = async (): Promise<void> => {
    const r = await post(url, imethod(NS, 'EnumerateInstanceNames', classParam('ClassName', 'CIM_ComputerSystem')), { CIMMethod: 'EnumerateInstanceNames', CIMObject: encodeURIComponent(NS) });
    t.equal(r.status, 200);
    t.match(r.text, /Name="sysa"|>sysa</, 'server still answers');
  };

  await t.test('not XML at all', async (t) => {
    const r = await post(url, 'this is <not xml', { CIMMethod: 'EnumerateInstances', CIMObject: NS });
    t.equal(r.status, 200);
    t.equal(errorCode(r.text), 1);
    t.match(r.text, /request-not-well-formed/);
  });

  await t.test('well-formed XML that is not CIM', async (t) => {
    const r = await post(url, '<?xml version="1.0"?><HELLO/>', {});
    t.equal(r.status, 200);
    t.equal(errorCode(r.text), 4);
  });

  await t.test('a broken XML declaration the validator lets through', async (t) => {
    const r = await post(url, '<?xml version="1>0" encod8"?><CIM/>', {});
    t.equal(errorCode(r.text), 1);
    t.match(r.text, /request-not-well-formed/);
  });

  await t.test('a DTD with entities is refused', async (t) => {
    const r = await post(url, '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><CIM/>', {});
    t.equal(errorCode(r.text), 1);
  });

  await t.test('CIMObject header naming another namespace', async (t) => {
    const r = await post(url, imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem'), '99'), { CIMMethod: 'EnumerateInstances', CIMObject: 'root%2Fother' });
    t.equal(errorCode(r.text), 4);
    t.match(r.text, /MESSAGE ID="99"/, 'message ID echoed');
    t.match(r.text, /header-mismatch/);
  });

  await t.test('CIMObject of an extrinsic call naming another class', async (t) => {
    const r = await post(url, methodCall('GetPeerSystems', ''), { CIMMethod: 'GetPeerSystems', CIMObject: `${encodeURIComponent(NS)}:CIM_Foo` });
    t.equal(errorCode(r.text), 4);
  });

  await t.test('CIMMethod header differing from the body', async (t) => {
    const r = await post(url, imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem')), { CIMMethod: 'GetClass' });
    t.equal(errorCode(r.text), 4);
  });

  await t.test('unknown intrinsic and extrinsic methods', async (t) => {
    t.equal(errorCode((await post(url, imethod(NS, 'ExecQuery'))).text), 7);
    t.equal(errorCode((await post(url, methodCall('SelfDestruct', ''))).text), 17);
  });

  await t.test('unknown namespace, class, instance', async (t) => {
    t.equal(errorCode((await post(url, imethod('root/nowhere', 'EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem')))).text), 3);
    t.equal(errorCode((await post(url, imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_NoSuchClass')))).text), 5);
    const gi = `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="MSISCSITARGET_ComputerSystem"><KEYBINDING NAME="Name"><KEYVALUE>ghost</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`;
    t.equal(errorCode((await post(url, imethod(NS, 'GetInstance', gi))).text), 6);
  });

  await t.test('one CIM_ERR_ prefix: DESCRIPTION holds only the description, the client adds the name once', async (t) => {
    const r = await post(url, imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_NoSuchClass')));
    t.match(r.text, /<ERROR CODE="5" DESCRIPTION="no class CIM_NoSuchClass">/);
    const client = new CimClient({ url });
    await t.rejects(client.enumerateInstances(NS, 'CIM_NoSuchClass'), { message: /^CIM_ERR_INVALID_CLASS: no class CIM_NoSuchClass$/ });
  });

  await t.test('wrong parameter types', async (t) => {
    const boolWrong = methodCall('CreateRemoteReplicationCollection', '<PARAMVALUE NAME="Active"><VALUE>maybe</VALUE></PARAMVALUE>');
    t.equal(errorCode((await post(url, boolWrong)).text), 4);
    const typeMismatch = methodCall('GetPeerSystems', '<PARAMVALUE NAME="Options" PARAMTYPE="string"><VALUE>2</VALUE></PARAMVALUE>');
    t.equal(errorCode((await post(url, typeMismatch)).text), 4);
    const outOfRange = methodCall('GetPeerSystems', '<PARAMVALUE NAME="Options"><VALUE>70000</VALUE></PARAMVALUE>');
    t.equal(errorCode((await post(url, outOfRange)).text), 4);
    const refExpected = methodCall('CreateRemoteReplicationCollection', '<PARAMVALUE NAME="RemoteComputerSystem"><VALUE>sysb</VALUE></PARAMVALUE>');
    t.equal(errorCode((await post(url, refExpected)).text), 4);
    const outParam = methodCall('CreateRemoteReplicationCollection', '<PARAMVALUE NAME="Job"><VALUE>x</VALUE></PARAMVALUE>');
    t.equal(errorCode((await post(url, outParam)).text), 4, 'an OUT-only parameter cannot be passed in');
    const dl = `<IPARAMVALUE NAME="DeepInheritance"><VALUE>sometimes</VALUE></IPARAMVALUE>`;
    t.equal(errorCode((await post(url, imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem') + dl))).text), 4);
  });

  await t.test('a 10 MB body', async (t) => {
    const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
    const r = await post(url, huge, { CIMMethod: 'EnumerateInstances' });
    t.equal(r.status, 200);
    t.equal(errorCode(r.text), 1);
    t.match(r.text, /exceeds the limit/);
  });

  await t.test('non-POST and non-MethodCall requests are HTTP errors, not crashes', async (t) => {
    const g = await fetch(`${url}/cimom`);
    t.equal(g.status, 405);
    const r = await post(url, 'x', { CIMOperation: 'MethodResponse' });
    t.equal(r.status, 400);
  });

  await ok();
});

t.test('basic authentication (over plain HTTP, allowed explicitly; HTTPS in https.test.ts)', async (t) => {
  const server = await startCimServer(fakeView({ name: 'sysa' }), { enabled: true, address: '127.0.0.1', port: 0, user: 'admin', password: 's3cret', allowBasicAuthOverHttp: true }, { persist: false });
  t.teardown(() => server.close());
  const body = imethod(NS, 'EnumerateInstanceNames', classParam('ClassName', 'CIM_ComputerSystem'));
  t.equal((await post(server.url, body)).status, 401);
  t.equal((await post(server.url, body, { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` })).status, 401);
  const r = await post(server.url, body, { Authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` });
  t.equal(r.status, 200);
  t.equal(errorCode(r.text), undefined);
});
