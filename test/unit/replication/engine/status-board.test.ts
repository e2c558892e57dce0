/**
 * Issue 13: an idle source publishes its pair's status once per reconcile pass. The pass reconciled
 * the pair (which publishes) and then exchanged statuses (which published again): two writes a pass.
 */
import t from 'tap';
import { pairKeys } from '../../../../src/replication/keys.ts';
import { engineRig } from '../engine-rig.ts';

t.test('an idle source publishes its status once per pass', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  const statusKey = pairKeys(pairId).status;
  let writes = 0;
  const write = rig.store.write.bind(rig.store);
  rig.store.write = (key, data, ttlMs) => {
    if (key === statusKey) writes++;
    write(key, data, ttlMs);
  };
  const PASSES = 10;
  for (let pass = 0; pass < PASSES; pass++) {
    const before = writes;
    rig.tick();
    await rig.until(() => writes > before, `pass ${pass + 1} publishes`);
  }
  await rig.primary.engine.close();
  // Two writes a pass before (at least 2 × PASSES - 1 counted here); one now (the close and a phase change may add one each).
  t.ok(writes <= PASSES + 2, `${writes} status writes in ${PASSES} passes`);
});
