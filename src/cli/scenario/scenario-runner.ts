/**
 * Runs a scenario's timeline against a lab and reports each step as it goes:
 *
 *   [ 3] +2.0 s  link partition for 10 s ............ ok (0.2 s): m-… link PARTITIONED (set on primary, peer)
 *   [ 4] +2.2 s  expect phase ahead within 15 s ..... FAILED (15.0 s): phase is streaming
 *
 * The first failing step ends the run (exit 1 names it). A `link … for:` heals on its own later, while
 * the next steps run; whatever is still pending when the run ends is undone then, so a drill never
 * leaves a lab partitioned.
 */
import { randomBytes } from 'node:crypto';
import type { BlockResult } from '../../initiator/block-session.ts';
import { describeLink, type LinkChange } from '../../replication/link/link-conditions.ts';
import type { PairStatus } from '../../replication/pair-types.ts';
import { LabDriver, senseText } from './lab-driver.ts';
import type { IoExpectation, Scenario, ScenarioStep, StepAction } from './scenario-file.ts';

export interface StepReport {
  readonly step: ScenarioStep;
  readonly title: string;
  readonly startedAtMs: number;
  readonly tookMs: number;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ScenarioReport {
  readonly passed: boolean;
  readonly steps: readonly StepReport[];
  readonly failed?: StepReport;
  readonly tookMs: number;
}

const POLL_MS = 250;
const PAIR_OPERATION_TIMEOUT_MS = 5 * 60_000;
const MiB = 1024 * 1024;

class StepFailure extends Error {}

export async function runScenario(scenario: Scenario, driver: LabDriver, print: (line: string) => void): Promise<ScenarioReport> {
  const started = Date.now();
  const reports: StepReport[] = [];
  const pending = new Map<NodeJS.Timeout, { title: string; undo: () => Promise<string> }>();
  const elapsed = () => Date.now() - started;
  let failed: StepReport | undefined;
  for (const step of scenario.steps) {
    if (step.atMs !== undefined && elapsed() < step.atMs) await sleep(step.atMs - elapsed());
    const title = step.name ?? titleOf(step.action);
    const startedAtMs = elapsed();
    let ok = true;
    let detail: string;
    try {
      detail = await runStep(step.action, driver, (title, ms, undo) => {
        const timer = setTimeout(() => {
          pending.delete(timer);
          void undo().then((what) => print(`       +${seconds(elapsed())}  (${title}) ${what}`), (error: unknown) => print(`       +${seconds(elapsed())}  (${title}) FAILED: ${(error as Error).message}`));
        }, ms);
        pending.set(timer, { title, undo });
      });
    } catch (error) {
      ok = false;
      detail = (error as Error).message;
    }
    const report: StepReport = { step, title, startedAtMs, tookMs: elapsed() - startedAtMs, ok, detail };
    reports.push(report);
    print(`  [${String(step.number).padStart(2)}] +${seconds(startedAtMs).padEnd(7)} ${title.padEnd(44, ' ')} ${ok ? 'ok' : 'FAILED'} (${seconds(report.tookMs)}): ${detail}`);
    if (!ok) { failed = report; break; }
  }
  for (const [timer, { title, undo }] of pending) {
    clearTimeout(timer);
    try {
      print(`       (${title}) ended with the scenario: ${await undo()}`);
    } catch (error) {
      print(`       (${title}) could not be undone: ${(error as Error).message}`);
    }
  }
  return { passed: failed === undefined, steps: reports, ...(failed ? { failed } : {}), tookMs: elapsed() };
}

type Later = (title: string, ms: number, undo: () => Promise<string>) => void;

async function runStep(action: StepAction, driver: LabDriver, later: Later): Promise<string> {
  switch (action.kind) {
    case 'link': {
      const done = await driver.link(action.pair, action.change);
      if (action.forMs !== undefined && action.change !== 'clear') {
        later(`end of ${linkTitle(action.change)}`, action.forMs, () => driver.link(action.pair, undoOf(action.change as LinkChange)));
      }
      return done;
    }
    case 'fault': return driver.fault(action.system, action.rule);
    case 'clear-faults': return driver.clearFaults(action.system);
    case 'site': return driver.site(action.op, action.part, action.kill);
    case 'pair': return driver.pair(action.pair, action.verb, action.force, PAIR_OPERATION_TIMEOUT_MS);
    case 'sleep': await sleep(action.ms); return 'slept';
    case 'write': {
      const data = action.pattern === 'random' ? randomBytes(action.size) : Buffer.alloc(action.size, action.pattern);
      const started = Date.now();
      const result = await driver.write(action.system, action.offset, data).catch((error: Error) => { throw new StepFailure(`the initiator failed: ${error.message}`); });
      return ioOutcome(result, action.expect, `${formatSize(action.size)} written in ${seconds(Date.now() - started)}`);
    }
    case 'read': {
      const result = await driver.read(action.system, action.offset, action.size).catch((error: Error) => { throw new StepFailure(`the initiator failed: ${error.message}`); });
      const outcome = ioOutcome(result, action.expect, `${formatSize(action.size)} read`);
      if (action.pattern !== undefined && result.status === 0 && result.data) {
        const wrong = result.data.findIndex((b) => b !== action.pattern);
        if (wrong >= 0) throw new StepFailure(`byte ${action.offset + wrong} is 0x${result.data[wrong]!.toString(16)}, not the pattern 0x${action.pattern.toString(16)}`);
        return `${outcome}, every byte 0x${action.pattern.toString(16)}`;
      }
      return outcome;
    }
    case 'expect-phase': {
      let last = 'no status yet';
      const status = await until(action.withinMs, async () => {
        const s = await driver.status().catch((error: Error) => { last = error.message; return undefined; });
        if (s) last = `phase is ${s.phase}`;
        return s?.phase === action.phase ? s : undefined;
      });
      if (!status) throw new StepFailure(`${last} after ${seconds(action.withinMs)}`);
      return `${status.phase}, ${status.dirtyGrains} dirty grains, RPO ${status.rpoSeconds.toFixed(2)} s`;
    }
    case 'expect-converged': return converged(driver, action.withinMs);
    case 'expect-rpo-below': {
      const deadline = Date.now() + action.duringMs;
      let worst = 0;
      let samples = 0;
      do {
        const rpo = await driver.liveRpo();
        if (rpo === undefined) throw new StepFailure('no system reports the pair\'s RPO as its source (is the source running?)');
        samples++;
        worst = Math.max(worst, rpo);
        if (rpo >= action.seconds) throw new StepFailure(`RPO ${rpo.toFixed(2)} s is not under ${action.seconds} s`);
        if (Date.now() < deadline) await sleep(POLL_MS);
      } while (Date.now() < deadline);
      return `RPO stayed under ${action.seconds} s (worst ${worst.toFixed(2)} s in ${samples} samples of the source's /metrics)`;
    }
    case 'expect-rpo-at-least': {
      let best = 0;
      const reached = await until(action.withinMs, async () => {
        const rpo = await driver.liveRpo();
        best = Math.max(best, rpo ?? 0);
        return rpo !== undefined && rpo >= action.seconds ? rpo : undefined;
      }, 50);
      if (reached === undefined) throw new StepFailure(`RPO reached at most ${best.toFixed(2)} s within ${seconds(action.withinMs)}, not ${action.seconds} s`);
      return `RPO ${reached.toFixed(2)} s ≥ ${action.seconds} s (the source's /metrics)`;
    }
  }
}

/** Streaming with nothing behind, VerifyReplica finds no divergent chunk, and both LUNs hash the same. */
async function converged(driver: LabDriver, withinMs: number): Promise<string> {
  const deadline = Date.now() + withinMs;
  let last = 'no status yet';
  while (Date.now() < deadline) {
    const status: PairStatus | undefined = await driver.status().catch((error: Error) => { last = error.message; return undefined; });
    if (status) last = `${status.phase}, ${status.dirtyGrains} dirty grains, ${status.epochsBehind} epochs behind`;
    if (status?.phase === 'streaming' && status.dirtyGrains === 0 && status.epochsBehind === 0) {
      const verify = await driver.verify(undefined).catch((error: Error) => ({ returnValue: -1, compared: 0, divergent: 0, inFlux: 0, error: error.message }));
      if (verify.returnValue === 0 && verify.divergent === 0 && verify.inFlux === 0 && verify.compared > 0) {
        const { source, target } = status.record;
        const [a, b] = [await driver.lunSha256(source.system), await driver.lunSha256(target.system)];
        if (a === b) return `identical: VerifyReplica compared ${verify.compared} chunks, 0 divergent; sha256 ${a.slice(0, 16)}… on ${source.system} and ${target.system}`;
        last = `sha256 differs: ${source.system} ${a.slice(0, 16)}…, ${target.system} ${b.slice(0, 16)}…`;
      } else {
        last = 'error' in verify ? `VerifyReplica failed: ${verify.error}` : `VerifyReplica: ${verify.divergent} divergent, ${verify.inFlux} in flux of ${verify.compared} (returned ${verify.returnValue})`;
      }
    }
    await sleep(POLL_MS);
  }
  throw new StepFailure(`not converged within ${seconds(withinMs)}: ${last}`);
}

function ioOutcome(result: BlockResult, expect: IoExpectation, what: string): string {
  const status = result.status === 0 ? 'GOOD' : `status 0x${result.status.toString(16)} sense ${senseText(result)}`;
  if (expect.kind === 'ok') {
    if (result.status !== 0) throw new StepFailure(`the initiator got ${status}`);
    return what;
  }
  if (result.status === 0) throw new StepFailure(`the initiator expected ${expect.kind === 'error' ? 'an error' : expect.text} and got GOOD`);
  if (expect.kind === 'sense') {
    const sense = result.sense;
    const matches = sense !== undefined && sense.key === expect.key && (expect.asc === undefined || sense.asc === expect.asc) && (expect.ascq === undefined || sense.ascq === expect.ascq);
    if (!matches) throw new StepFailure(`the initiator expected ${expect.text} and got ${status}`);
  }
  return `the initiator saw ${status} as expected`;
}

function undoOf(change: LinkChange): LinkChange {
  return {
    ...(change.partitioned === true ? { partitioned: false } : {}),
    ...(change.latencyMs !== undefined ? { latencyMs: 0 } : {}),
    ...(change.rateBytesPerSecond !== undefined ? { rateBytesPerSecond: null } : {}),
    ...(change.loss !== undefined ? { loss: 0 } : {}),
  };
}

function linkTitle(change: LinkChange | 'clear'): string {
  if (change === 'clear') return 'link clear';
  if (change.partitioned === false && Object.keys(change).length === 1) return 'link heal';
  return `link ${describeLink({ partitioned: change.partitioned ?? false, latencyMs: change.latencyMs ?? 0, loss: change.loss ?? 0, ...(typeof change.rateBytesPerSecond === 'number' ? { rateBytesPerSecond: change.rateBytesPerSecond } : {}) })}`;
}

export function titleOf(action: StepAction): string {
  switch (action.kind) {
    case 'link': return `${linkTitle(action.change)}${action.forMs === undefined ? '' : ` for ${seconds(action.forMs)}`}`;
    case 'fault': return `fault on ${action.system}: ${String(action.rule.action ?? '?')}${action.rule.lba === undefined ? '' : ` LBA ${typeof action.rule.lba === 'object' ? JSON.stringify(action.rule.lba) : String(action.rule.lba)}`}`;
    case 'clear-faults': return `clear faults on ${action.system}`;
    case 'site': return `site ${action.op} ${action.part}${action.kill ? ' (kill)' : ''}`;
    case 'pair': return `pair ${action.verb}${action.force ? ' --force' : ''}`;
    case 'write': return `write ${formatSize(action.size)} at ${formatSize(action.offset)} on ${action.system}${action.expect.kind === 'ok' ? '' : ` (expect ${action.expect.kind === 'sense' ? action.expect.text : 'error'})`}`;
    case 'read': return `read ${formatSize(action.size)} at ${formatSize(action.offset)} on ${action.system}${action.expect.kind === 'ok' ? '' : ` (expect ${action.expect.kind === 'sense' ? action.expect.text : 'error'})`}`;
    case 'sleep': return `sleep ${seconds(action.ms)}`;
    case 'expect-phase': return `expect phase ${action.phase} within ${seconds(action.withinMs)}`;
    case 'expect-converged': return `expect converged within ${seconds(action.withinMs)}`;
    case 'expect-rpo-below': return `expect RPO < ${action.seconds} s${action.duringMs > 0 ? ` during ${seconds(action.duringMs)}` : ''}`;
    case 'expect-rpo-at-least': return `expect RPO ≥ ${action.seconds} s within ${seconds(action.withinMs)}`;
  }
}

async function until<T>(withinMs: number, probe: () => Promise<T | undefined>, stepMs = POLL_MS): Promise<T | undefined> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(stepMs);
  }
}

function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
