import t from 'tap';
import { parseArgs } from '../../../src/cli/commands/cim.ts';

t.test('cim call --arg parsing: references with @, repeats make arrays', async (t) => {
  const args = parseArgs(['ElementName=x', 'LocalAccessPoints=@C.Name="a"', 'LocalAccessPoints=@C.Name="b"', 'Active=false'], 'ns');
  t.equal(args.ElementName, 'x');
  t.equal(args.Active, 'false');
  t.same(args.LocalAccessPoints, [{ className: 'C', namespace: 'ns', keys: { Name: 'a' } }, { className: 'C', namespace: 'ns', keys: { Name: 'b' } }]);
  t.throws(() => parseArgs(['novalue'], 'ns'), /NAME=VALUE/);
});
