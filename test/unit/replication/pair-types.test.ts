import t from 'tap';
import { agedStatus, type PairStatus } from '../../../src/replication/pair-types.ts';

const base = { rpoSeconds: 0, updatedAt: new Date(10_000).toISOString() } as unknown as PairStatus;

t.test('a published status read later: a non-zero RPO grows by the time since, 0 stays 0', async (t) => {
  t.equal(agedStatus({ ...base, rpoSeconds: 3 }, 12_500).rpoSeconds, 5.5, 'behind: the oldest write is older now');
  t.equal(agedStatus(base, 12_500).rpoSeconds, 0, 'in sync when published: nothing newer is known');
  t.equal(agedStatus({ ...base, rpoSeconds: 3 }, 9_000).rpoSeconds, 3, 'a clock behind the publisher never shrinks it');
});
