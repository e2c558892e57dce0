import t from 'tap';
import { coerce } from '../../../../src/cim/cimxml/coerce.ts';
import { parseRequest } from '../../../../src/cim/cimxml/parse.ts';
import { errorResponse, extrinsicResponse, instance, intrinsicResponse } from '../../../../src/cim/cimxml/serialize.ts';
import { schema } from '../../../../src/cim/schema/index.ts';
import { isSblimWbemcli } from '../../../../src/cim/server/client-dialect.ts';
import { parseType } from '../../../../src/cim/schema/types.ts';
import { imethod, methodCall, NS } from '../support/raw.ts';

const ctx = { host: 'h:5988', defaultNamespace: NS };

t.test('parse: intrinsic call with namespace and typed IPARAMVALUEs', async (t) => {
  const r = parseRequest(imethod(NS, 'EnumerateInstances', '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_X"/></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY/></IPARAMVALUE>', '9'));
  t.match(r, { kind: 'intrinsic', messageId: '9', method: 'EnumerateInstances', namespace: NS });
  t.same(r.params.map((p) => p.value.kind), ['classname', 'array']);
});

t.test('parse: references as INSTANCENAME, LOCALINSTANCEPATH, INSTANCEPATH (HOST ignored), empty VALUE.REFERENCE', async (t) => {
  const inn = '<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="K"><KEYVALUE VALUETYPE="numeric">3</KEYVALUE></KEYBINDING><KEYBINDING NAME="B"><KEYVALUE VALUETYPE="boolean">true</KEYVALUE></KEYBINDING></INSTANCENAME>';
  const body = methodCall('X', `<PARAMVALUE NAME="A"><VALUE.REFERENCE>${inn}</VALUE.REFERENCE></PARAMVALUE>`
    + `<PARAMVALUE NAME="L"><VALUE.REFARRAY><VALUE.REFERENCE><LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH>${inn}</LOCALINSTANCEPATH></VALUE.REFERENCE>`
    + `<VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>elsewhere</HOST><LOCALNAMESPACEPATH><NAMESPACE NAME="a"/><NAMESPACE NAME="b"/></LOCALNAMESPACEPATH></NAMESPACEPATH>${inn}</INSTANCEPATH></VALUE.REFERENCE>`
    + '<VALUE.REFERENCE></VALUE.REFERENCE></VALUE.REFARRAY></PARAMVALUE>');
  const r = parseRequest(body);
  if (r.kind !== 'extrinsic') throw new Error('expected extrinsic');
  t.equal(r.target.className, 'MSISCSITARGET_ReplicationService');
  t.match(r.params[0].value, { kind: 'ref', path: { className: 'C', keys: { K: 3, B: true } } });
  t.match(r.params[1].value, { kind: 'refarray', paths: [{ namespace: 'interop' }, { namespace: 'a/b', host: 'elsewhere' }] });
  t.equal(r.params[1].value.kind === 'refarray' ? r.params[1].value.paths.length : 0, 2, 'the empty placeholder is dropped');
});

t.test('coerce by declared type: wbemcli lowercase booleans, empty arrays, ranges', async (t) => {
  t.equal(coerce({ kind: 'value', text: 'true' }, parseType('boolean'), 'b'), true);
  t.equal(coerce({ kind: 'value', text: 'FALSE' }, parseType('boolean'), 'b'), false);
  t.same(coerce({ kind: 'array', items: [''] }, parseType('uint16[]'), 'a'), []);
  t.same(coerce({ kind: 'array', items: [] }, parseType('ref:CIM_X[]'), 'a'), []);
  t.equal(coerce({ kind: 'value', text: '0x10' }, parseType('uint8'), 'n'), 16);
  t.throws(() => coerce({ kind: 'value', text: '256' }, parseType('uint8'), 'n'), { code: 4 });
  t.throws(() => coerce({ kind: 'value', text: '-1' }, parseType('uint32'), 'n'), { code: 4 });
  t.throws(() => coerce({ kind: 'value', text: 'x' }, parseType('ref:CIM_X'), 'r'), { code: 4 });
  t.equal(coerce({ kind: 'null' }, parseType('string'), 's'), null);
});

t.test('serialize: wire rules of real clients', async (t) => {
  const cls = schema().get('MSISCSITARGET_RemoteReplicationCollection');
  const xml = instance({ className: cls.name, path: { className: cls.name, keys: { InstanceID: 'i' } }, properties: { InstanceID: 'i', ElementName: '', Active: true } }, cls, ctx);
  t.match(xml, /<PROPERTY NAME="ElementName" TYPE="string"><VALUE><\/VALUE><\/PROPERTY>/, 'empty string is an open/close VALUE');
  t.match(xml, /<PROPERTY NAME="ConnectivityStatus" TYPE="uint16"><\/PROPERTY>/, 'NULL is a PROPERTY without VALUE');
  t.notMatch(xml, /<VALUE\/>|xml:lang/);
  t.match(intrinsicResponse('1', 'EnumerateInstances', ''), /<IRETURNVALUE><\/IRETURNVALUE>/);
  t.notMatch(intrinsicResponse('1', 'ModifyInstance', null), /IRETURNVALUE/);
  const m = extrinsicResponse('5', 'M', 4096, [{ name: 'Job', type: 'ref:CIM_ConcreteJob', value: { className: 'J', keys: { InstanceID: 'ISCSISIM:JOB-1' } } }, { name: 'ConnectivityCollection', type: 'ref:CIM_X', value: null }], ctx);
  t.match(m, /<RETURNVALUE PARAMTYPE="uint32"><VALUE>4096<\/VALUE><\/RETURNVALUE>/);
  t.match(m, /<PARAMVALUE NAME="Job" PARAMTYPE="reference"><VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>h:5988<\/HOST>/);
  t.match(m, /<KEYVALUE VALUETYPE="string">ISCSISIM:JOB-1<\/KEYVALUE>/);
  t.notMatch(m, /ConnectivityCollection/, 'NULL out parameters are omitted');
  t.match(errorResponse('3', 'GetClass', true, 5, 'a <b> & "c"'), /<IMETHODRESPONSE NAME="GetClass"><ERROR CODE="5" DESCRIPTION="a &lt;b&gt; &amp; &quot;c&quot;"><\/ERROR>/);
});

// Issue 12: wbemcli cannot parse VALUE.REFARRAY out parameters ("Bad attribute list for VALUE").
t.test('reference arrays out: VALUE.REFARRAY, or VALUE.ARRAY of VALUE.REFERENCE for wbemcli', async (t) => {
  const ctx = { host: 'h:5988', defaultNamespace: NS };
  const paths = [{ className: 'S', keys: { K: 'a' } }, { className: 'S', host: 'peer:5989', keys: { K: 'b' } }];
  const out = [{ name: 'Synchronizations', type: 'ref:CIM_Synchronized[]', value: paths }];
  const standard = extrinsicResponse('5', 'GetReplicationRelationships', 0, out, ctx);
  t.match(standard, /<PARAMVALUE NAME="Synchronizations" PARAMTYPE="reference"><VALUE.REFARRAY><VALUE.REFERENCE>.*<\/VALUE.REFERENCE><\/VALUE.REFARRAY><\/PARAMVALUE>/);
  const forWbemcli = extrinsicResponse('4711', 'GetReplicationRelationships', 0, out, { ...ctx, refArraysAsValueArray: true });
  t.match(forWbemcli, /<PARAMVALUE NAME="Synchronizations" PARAMTYPE="reference"><VALUE.ARRAY><VALUE.REFERENCE>.*<\/VALUE.REFERENCE><\/VALUE.ARRAY><\/PARAMVALUE>/);
  t.notMatch(forWbemcli, /REFARRAY/);
  t.match(forWbemcli, /<HOST>peer:5989<\/HOST>/, 'a path\'s own host is kept');
  t.ok(isSblimWbemcli({ messageId: '4711' }), 'wbemcli: MESSAGE ID 4711, no User-Agent');
  t.notOk(isSblimWbemcli({ messageId: '4711', userAgent: 'pywbem/1.6' }));
  t.notOk(isSblimWbemcli({ messageId: '1001' }));
});
