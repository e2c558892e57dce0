import t from 'tap';
import { CommandWindow } from '../../../src/iscsi/command-window.ts';

t.test('MaxCmdSN follows the free queue slots and never goes back', async (t) => {
  const w = new CommandWindow(10, 4);
  t.equal(w.advertise(), 13);
  for (let sn = 10; sn < 14; sn++) {
    t.equal(w.admit(sn, () => undefined), 'now');
    w.taskStarted();
  }
  t.equal(w.expCmdSN, 14);
  t.equal(w.advertise(), 13, 'queue full: window closed (MaxCmdSN = ExpCmdSN - 1)');
  t.equal(w.admit(14, () => undefined), 'ignore', 'beyond MaxCmdSN');
  w.taskFinished();
  t.equal(w.advertise(), 14);
  t.equal(w.admit(14, () => undefined), 'now');
});

t.test('early commands wait for the gap and run in order; duplicates are ignored', async (t) => {
  const w = new CommandWindow(0xfffffffe, 8);
  const ran: number[] = [];
  t.equal(w.admit(0, () => ran.push(0)), 'later', 'wraps around 2^32');
  t.equal(w.admit(0xffffffff, () => ran.push(0xffffffff)), 'later');
  t.equal(w.admit(0xffffffff, () => ran.push(-1)), 'ignore', 'duplicate');
  t.equal(w.admit(0xfffffffe, () => ran.push(0xfffffffe)), 'now');
  w.drain();
  t.same(ran, [0xffffffff, 0]);
  t.equal(w.expCmdSN, 1);
  t.equal(w.admit(0xfffffffe, () => undefined), 'ignore', 'stale CmdSN');
});
