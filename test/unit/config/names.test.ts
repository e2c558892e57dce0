import t from 'tap';
import { iscsiNameProblem, normalizeIscsiName, sanitizeNameComponent } from '../../../src/config/names.ts';

t.test('accepts the three name formats', async (t) => {
  for (const name of ['iqn.2026-11.org.iscsi-sim:host1', 'iqn.2001-04.com.example', 'IQN.2026-11.Org.Example:Disk.1', 'eui.02004567a425678d', 'naa.52004567ba64678d', 'naa.62004567ba64678d0123456789abcdef']) {
    t.equal(iscsiNameProblem(name), undefined, name);
  }
  t.equal(normalizeIscsiName(' IQN.2026-11.Org.Example:A '), 'iqn.2026-11.org.example:a');
});

t.test('explains bad names', async (t) => {
  t.match(iscsiNameProblem('iqn.2026-13.org.example'), /not an IQN/);
  t.match(iscsiNameProblem('iqn.26-11.org.example'), /not an IQN/);
  t.match(iscsiNameProblem('iqn.2026-11.org example'), /not an IQN/);
  t.match(iscsiNameProblem('eui.1234'), /EUI/);
  t.match(iscsiNameProblem('naa.xyz'), /NAA/);
  t.match(iscsiNameProblem('disk1'), /starts with iqn/);
  t.match(iscsiNameProblem(`iqn.2026-11.org.example:${'a'.repeat(230)}`), /223 bytes/);
});

t.test('sanitizes host names for IQNs', async (t) => {
  t.equal(sanitizeNameComponent('My_Host.Local'), 'my-host.local');
  t.equal(sanitizeNameComponent('__'), 'localhost');
});
