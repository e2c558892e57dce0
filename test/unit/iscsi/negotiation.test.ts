import t from 'tap';
import { defaultParameters, negotiate, TARGET_LIMITS } from '../../../src/iscsi/negotiation.ts';
import { parseKeys, encodeKeys, parseNumber } from '../../../src/iscsi/text-keys.ts';

const answers = (offers: [string, string][], discovery = false) => {
  const params = defaultParameters();
  const result = new Map(negotiate(offers, params, discovery));
  return { params, result };
};

t.test('digests: the first offered value we support wins', async (t) => {
  const { params, result } = answers([['HeaderDigest', 'CRC32C,None'], ['DataDigest', 'None,CRC32C']]);
  t.equal(result.get('HeaderDigest'), 'CRC32C');
  t.equal(result.get('DataDigest'), 'None');
  t.ok(params.headerDigest);
  t.notOk(params.dataDigest);
  t.equal(answers([['HeaderDigest', 'MD5']]).result.get('HeaderDigest'), 'Reject');
});

t.test('numeric min/max functions and clamping', async (t) => {
  const { params, result } = answers([
    ['MaxBurstLength', '16776192'], ['FirstBurstLength', '16776192'], ['MaxOutstandingR2T', '64'],
    ['MaxConnections', '8'], ['ErrorRecoveryLevel', '2'], ['DefaultTime2Wait', '0'], ['DefaultTime2Retain', '0'],
    ['MaxRecvDataSegmentLength', '0x10000'],
  ]);
  t.equal(result.get('MaxBurstLength'), '16776192');
  t.equal(result.get('FirstBurstLength'), String(TARGET_LIMITS.firstBurstLength));
  t.equal(result.get('MaxOutstandingR2T'), String(TARGET_LIMITS.maxOutstandingR2T));
  t.equal(result.get('MaxConnections'), '1');
  t.equal(result.get('ErrorRecoveryLevel'), '0');
  t.equal(result.get('DefaultTime2Wait'), '2');
  t.equal(result.get('DefaultTime2Retain'), '0');
  t.notOk(result.has('MaxRecvDataSegmentLength'), 'declarative: not answered');
  t.equal(params.initiatorMaxRecvDataSegmentLength, 65536);
});

t.test('FirstBurstLength never exceeds MaxBurstLength', async (t) => {
  const { params, result } = answers([['FirstBurstLength', '65536'], ['MaxBurstLength', '4096']]);
  t.equal(params.firstBurstLength, 4096);
  t.equal(result.get('FirstBurstLength'), '4096');
});

t.test('boolean OR/AND functions', async (t) => {
  const { params, result } = answers([['InitialR2T', 'No'], ['ImmediateData', 'Yes'], ['DataPDUInOrder', 'No'], ['DataSequenceInOrder', 'No'], ['IFMarker', 'Yes']]);
  t.equal(result.get('InitialR2T'), 'No');
  t.equal(result.get('ImmediateData'), 'Yes');
  t.equal(result.get('DataPDUInOrder'), 'Yes');
  t.equal(result.get('DataSequenceInOrder'), 'Yes');
  t.equal(result.get('IFMarker'), 'No');
  t.notOk(params.initialR2T);
  t.equal(answers([['ImmediateData', 'No']]).params.immediateData, false);
  t.equal(answers([['InitialR2T', 'Maybe']]).result.get('InitialR2T'), 'Reject');
});

t.test('discovery sessions answer session-only keys Irrelevant; unknown keys NotUnderstood', async (t) => {
  const { result } = answers([['MaxBurstLength', '4096'], ['InitialR2T', 'No'], ['X-com.example.thing', '1'], ['HeaderDigest', 'None']], true);
  t.equal(result.get('MaxBurstLength'), 'Irrelevant');
  t.equal(result.get('InitialR2T'), 'Irrelevant');
  t.equal(result.get('X-com.example.thing'), 'NotUnderstood');
  t.equal(result.get('HeaderDigest'), 'None');
});

t.test('out-of-range and malformed numbers are rejected', async (t) => {
  const { result } = answers([['MaxBurstLength', '100'], ['MaxOutstandingR2T', 'many'], ['MaxRecvDataSegmentLength', '99999999']]);
  t.equal(result.get('MaxBurstLength'), 'Reject');
  t.equal(result.get('MaxOutstandingR2T'), 'Reject');
  t.equal(result.get('MaxRecvDataSegmentLength'), 'Reject');
});

t.test('text keys round trip', async (t) => {
  const encoded = encodeKeys([['A', '1'], ['B', 'x=y']]);
  t.same(parseKeys(encoded).pairs, [['A', '1'], ['B', 'x=y']]);
  t.same(parseKeys(Buffer.from('novalue\0')).invalid, ['novalue']);
  t.equal(parseNumber('0x1F'), 31);
  t.equal(parseNumber('12a'), undefined);
});
