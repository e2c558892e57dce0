import t from 'tap';
import { deriveNaa, deriveSerial, identitySeed, lunIdentity } from '../../../src/scsi/identity.ts';

t.test('a LUN identity comes from system, target and LUN names, never from where the data lives', async (t) => {
  const input = { systemName: 'sim1', targetIqn: 'iqn.2026-11.org.example:a', lun: 3 };
  const seed = identitySeed(input.systemName, input.targetIqn, input.lun);
  const memory = lunIdentity(input);
  t.same(memory, { naa: deriveNaa(seed), serial: deriveSerial(seed) }, 'no state base: APTPL state stays in memory');
  t.match(memory.naa, /^3[0-9a-f]{15}$/, 'NAA 3, locally assigned');
  const file = lunIdentity({ ...input, serial: 'MYSERIAL', stateBase: '/state/a.lun3.img' });
  t.equal(file.naa, memory.naa, 'the same LUN has the same NAA whichever backstore holds it');
  t.equal(file.serial, 'MYSERIAL', 'a configured serial wins');
  t.equal(file.persistentReservationFile, '/state/a.lun3.img.pr.json', 'APTPL state next to the LUN file');
  t.not(lunIdentity({ ...input, lun: 4 }).naa, memory.naa, 'another LUN, another NAA');
});
