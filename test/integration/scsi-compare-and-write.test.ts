/**
 * COMPARE AND WRITE is atomic across sessions (issue 3, SBC-4 §5.3): two raw-initiator sessions,
 * logged in as different initiators, race a COMPARE AND WRITE on the same block for many rounds,
 * both comparing against the block's current content. Whatever the interleaving, exactly one wins;
 * the other gets MISCOMPARE (sense key 0xE, ASC 0x1D) and the block holds the winner's data.
 */
import t from 'tap';
import { compareAndWrite, senseOf, SENSE_KEY_MISCOMPARE, STATUS_CHECK_CONDITION, STATUS_GOOD } from './support/scsi-cdbs.ts';
import { rawSession } from './support/raw-session.ts';
import { startSystem } from './support/system-process.ts';

const ROUNDS = 100;
const LBA = 77;

function blockOf(text: string, size: number): Buffer {
  const block = Buffer.alloc(size);
  for (let at = 0; at < size; at += text.length) block.write(text, at);
  return block;
}

t.test('two sessions racing COMPARE AND WRITE on one block: exactly one wins each round', async (t) => {
  const system = await startSystem({ luns: ['16M'] });
  t.teardown(() => system.stop());
  const alpha = await rawSession(system, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.caw-alpha' });
  const beta = await rawSession(system, { initiatorName: 'iqn.2026-11.org.iscsi-sim:it.caw-beta' });
  t.teardown(() => {
    alpha.conn.destroy();
    beta.conn.destroy();
  });
  const size = alpha.blockSize;

  let current = blockOf('initial;', size);
  t.equal((await alpha.write10(LBA, current)).status, STATUS_GOOD, 'block seeded');
  const wins = { alpha: 0, beta: 0 };
  let bad = 0;
  for (let round = 0; round < ROUNDS && bad < 3; round++) {
    const mine = { alpha: blockOf(`round ${round} alpha;`, size), beta: blockOf(`round ${round} beta;`, size) };
    const a = compareAndWrite(LBA, current, mine.alpha);
    const b = compareAndWrite(LBA, current, mine.beta);
    // Both commands leave before either answer is awaited; who sends first alternates.
    const sendAlpha = (): ReturnType<typeof alpha.command> => alpha.command(a.cdb, { out: a.out });
    const sendBeta = (): ReturnType<typeof beta.command> => beta.command(b.cdb, { out: b.out });
    const [ra, rb] = round % 2 === 0
      ? await Promise.all([sendAlpha(), sendBeta()])
      : await Promise.all([sendBeta(), sendAlpha()]).then(([rBeta, rAlpha]) => [rAlpha, rBeta]);
    const good = [ra, rb].filter((r) => r.status === STATUS_GOOD).length;
    const loser = ra.status === STATUS_GOOD ? rb : ra;
    const loserSense = loser.sense.length >= 14 ? senseOf(loser.sense) : undefined;
    const stored = (await alpha.read10(LBA, 1)).data;
    const winner = ra.status === STATUS_GOOD ? 'alpha' : 'beta';
    const ok = good === 1 && loser.status === STATUS_CHECK_CONDITION && loserSense?.key === SENSE_KEY_MISCOMPARE
      && loserSense.asc === 0x1d && stored.equals(mine[winner]);
    if (!ok) {
      bad++;
      t.fail(`round ${round}: ${good} GOOD, loser status 0x${loser.status.toString(16)} sense ${JSON.stringify(loserSense)}, block ${stored.subarray(0, 24).toString()}`);
      current = stored;
      continue;
    }
    wins[winner]++;
    current = stored;
  }
  t.equal(bad, 0, `${ROUNDS} rounds: exactly one GOOD and one MISCOMPARE (1Dh/00h) each, block = winner's data`);
  t.comment(`wins: alpha ${wins.alpha}, beta ${wins.beta}`);
  t.equal(wins.alpha + wins.beta, ROUNDS, 'every round had a winner');
  await alpha.logout();
  await beta.logout();
  t.ok(system.alive(), 'target still running');
});
