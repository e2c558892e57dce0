import t from 'tap';
import { harness } from './helpers/harness.ts';

/** Small deterministic PRNG so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

t.test('random CDBs and parameter lists never throw nor hit an internal failure', async (t) => {
  const h = await harness(t, { blocks: 4096 });
  const random = prng(20261121);
  const byte = () => Math.floor(random() * 256);
  let internal = 0;
  for (let round = 0; round < 3000; round++) {
    const opcode = round % 256;
    const cdb = Buffer.from(Array.from({ length: 16 }, byte));
    cdb[0] = opcode;
    // Keep transfer lengths small most of the time so the test stays fast.
    if (random() < 0.8) for (const i of [4, 7, 8, 9, 10, 11, 12, 13]) cdb[i] &= 0x03;
    if (random() < 0.7) for (let i = 2; i < 6; i++) cdb[i] = 0;
    const dataOut = random() < 0.5 ? [] : [Buffer.from(Array.from({ length: Math.floor(random() * 2048) }, byte))];
    const response = await h.run(cdb, { dataOut });
    h.data(response);
    t.ok([0x00, 0x02, 0x18].includes(response.status), `status 0x${response.status.toString(16)} for ${cdb.toString('hex')}`);
    if (response.status === 0x02 && response.sense?.[12] === 0x44) {
      internal++;
      t.fail(`internal failure for ${cdb.toString('hex')} (${dataOut[0]?.length ?? 0} bytes out)`);
    }
  }
  t.equal(internal, 0);
});
