import t from 'tap';
import { systemClock } from '../../../src/replication/clock.ts';

// Issue 13: one timer per pair and period added up with many pairs; work of one period shares a timer.
t.test('periodic work of the same period runs in the same tick; stopping one leaves the others', async (t) => {
  const timersBefore = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const ticks: Array<{ who: string; tick: number }> = [];
  let tick = 0;
  let stopA: (() => void) | undefined;
  const twoTicks = new Promise<void>((resolve) => {
    stopA = systemClock.every(20, () => { tick++; ticks.push({ who: 'a', tick }); if (tick === 2) resolve(); });
  });
  const stopB = systemClock.every(20, () => { ticks.push({ who: 'b', tick }); });
  const timersDuring = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  t.equal(timersDuring - timersBefore, 1, 'one timer for both');
  await twoTicks;
  t.same(ticks.slice(0, 4), [{ who: 'a', tick: 1 }, { who: 'b', tick: 1 }, { who: 'a', tick: 2 }, { who: 'b', tick: 2 }], 'b runs right after a, in the same tick');
  stopA!();
  const bAlone = new Promise<void>((resolve) => { const stop = systemClock.every(20, () => { stop(); resolve(); }); });
  await bAlone;
  const count = ticks.length;
  const once = new Promise<void>((resolve) => { const stop = systemClock.every(20, () => { stop(); resolve(); }); });
  await once;
  t.ok(ticks.length > count && ticks.slice(count).every((x) => x.who === 'b'), 'a stopped, b goes on');
  stopB();
  const timersAfter = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  t.equal(timersAfter, timersBefore, 'the shared timer is cleared with its last work');
});

t.test('a failing tick does not starve the others', async (t) => {
  let ran = false;
  const stopBad = systemClock.every(15, () => { throw new Error('boom'); });
  await new Promise<void>((resolve) => {
    const stop = systemClock.every(15, () => { ran = true; stop(); resolve(); });
  });
  stopBad();
  t.ok(ran);
});
