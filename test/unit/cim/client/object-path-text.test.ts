import t from 'tap';
import { formatObjectPath, parseObjectPath } from '../../../../src/cim/client/object-path-text.ts';

t.test('parse and format object paths', async (t) => {
  const p = parseObjectPath('root/x:Cls.Name="iqn.a:b,t,0x1",N=3,B=true,Q="say \\"hi\\""');
  t.same(p, { className: 'Cls', namespace: 'root/x', keys: { Name: 'iqn.a:b,t,0x1', N: 3, B: true, Q: 'say "hi"' } });
  t.equal(formatObjectPath(p), 'Cls.Name="iqn.a:b,t,0x1",N=3,B=true,Q="say \\"hi\\""');
  t.same(parseObjectPath(formatObjectPath(p), 'root/x'), p, 'round trip');
  t.same(parseObjectPath('Cls', 'ns'), { className: 'Cls', namespace: 'ns', keys: {} });
  t.throws(() => parseObjectPath('Cls.Name="open'), /unterminated/);
  t.throws(() => parseObjectPath('9bad'), /class name/);
  t.throws(() => parseObjectPath('Cls.Name'), /missing '='/);
});
