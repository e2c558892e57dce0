/**
 * Mutated requests (deterministic seed): every answer is HTTP 200 with either a response or an
 * <ERROR>, and the server keeps serving. Catches crashes on shapes the hand-written cases miss.
 */
import t from 'tap';
import { startCimServer } from '../../../../src/cim/index.ts';
import { fakeView } from '../support/fake-view.ts';
import { classParam, imethod, instanceNameXml, methodCall, NS, post } from '../support/raw.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const SEEDS = [
  imethod(NS, 'EnumerateInstances', classParam('ClassName', 'CIM_ComputerSystem')),
  imethod(NS, 'GetInstance', `<IPARAMVALUE NAME="InstanceName">${instanceNameXml('MSISCSITARGET_ComputerSystem', { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' })}</IPARAMVALUE>`),
  imethod(NS, 'Associators', `<IPARAMVALUE NAME="ObjectName">${instanceNameXml('MSISCSITARGET_ComputerSystem', { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' })}</IPARAMVALUE>`),
  methodCall('CreateRemoteReplicationCollection', '<PARAMVALUE NAME="ElementName"><VALUE>x</VALUE></PARAMVALUE><PARAMVALUE NAME="LocalAccessPoints"><VALUE.REFARRAY><VALUE.REFERENCE><INSTANCENAME CLASSNAME="MSISCSITARGET_iSCSIProtocolEndpoint"><KEYBINDING NAME="Name"><KEYVALUE>n</KEYVALUE></KEYBINDING></INSTANCENAME></VALUE.REFERENCE></VALUE.REFARRAY></PARAMVALUE>'),
];

const TOKENS = ['<', '>', '/', '"', '&amp;', '<VALUE>', '</VALUE>', '<VALUE.ARRAY>', '<VALUE.REFERENCE>', 'NAME="', '<KEYBINDING NAME="x">', '\u0000', '\uFFFF', ']]>', '<![CDATA[', ''];

function mutate(text: string, random: () => number): string {
  let s = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * s.length);
    const kind = random();
    if (kind < 0.4) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(random() * 20));
    else if (kind < 0.8) s = s.slice(0, at) + TOKENS[Math.floor(random() * TOKENS.length)] + s.slice(at);
    else s = s.slice(0, at) + s.slice(at, at + 40).repeat(2) + s.slice(at + 40);
  }
  return s;
}

t.test('mutated requests never crash the server', async (t) => {
  const server = await startCimServer(fakeView({ name: 'sysa' }), { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false });
  t.teardown(() => server.close());
  const random = rng(20261121);
  let errors = 0;
  let answers = 0;
  for (let i = 0; i < 400; i++) {
    const body = mutate(SEEDS[i % SEEDS.length], random);
    const r = await post(server.url, body);
    if (r.status !== 200 || !/<\/CIM>/.test(r.text)) {
      t.fail(`request ${i}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      break;
    }
    if (/<ERROR CODE="/.test(r.text)) errors++;
    else answers++;
  }
  t.ok(errors > 0, `${errors} mutated requests got CIM errors, ${answers} were still valid`);
  const r = await post(server.url, SEEDS[0]);
  t.match(r.text, /Name="sysa"|<VALUE>sysa<\/VALUE>/, 'still serving');
});
