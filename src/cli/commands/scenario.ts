/**
 * `iscsi-sim scenario run FILE.yaml [--state-dir DIR] [--base-port N] [--keep-lab]`: runs a DR drill
 * (src/cli/scenario) and exits 0 when every step passed, 1 naming the first that failed, 2 when the
 * file is invalid (the message names the field). With a lab running on --state-dir it drives that
 * lab; otherwise it starts one for the drill (in --state-dir, or a temporary dir; free ports unless
 * --base-port; the file's `lab.size`) and stops it at the end, so a CI job needs nothing else.
 * `iscsi-sim scenario check FILE.yaml` only validates.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { freeLoopbackPortRange } from '../../lab/embedded-redis.ts';
import { askLab } from '../../lab/lab-control.ts';
import { startLab, type LabHandle } from '../../lab/lab-runner.ts';
import { exitSoon, fail } from '../lifecycle.ts';
import { LabDriver } from '../scenario/lab-driver.ts';
import { parseScenario, ScenarioError, type Scenario } from '../scenario/scenario-file.ts';
import { runScenario, titleOf } from '../scenario/scenario-runner.ts';

interface ScenarioFlags {
  stateDir?: string;
  basePort?: string;
  keepLab?: boolean;
}

async function load(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    fail(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
  try {
    return parseScenario(text, file);
  } catch (error) {
    if (error instanceof ScenarioError) fail(`${file}: ${error.message}`, 2);
    throw error;
  }
}

async function labRunning(stateDir: string): Promise<boolean> {
  try {
    return (await askLab(stateDir, { op: 'list' }, 5000)).ok;
  } catch {
    return false;
  }
}

async function run(file: string, flags: ScenarioFlags): Promise<void> {
  const scenario = await load(file);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let lab: LabHandle | undefined;
  let madeDir: string | undefined;
  let stateDir = flags.stateDir;
  if (stateDir === undefined || !(await labRunning(stateDir))) {
    if (stateDir === undefined) stateDir = madeDir = await mkdtemp(join(tmpdir(), 'iscsi-sim-scenario-'));
    const basePort = flags.basePort === undefined ? await freeLoopbackPortRange(7) : Number(flags.basePort);
    if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65_528) fail(`--base-port ${flags.basePort}: not a port number`, 2);
    out(`starting a lab for the scenario in ${stateDir} (base port ${basePort}, LUN ${scenario.lab.size})`);
    const started = Date.now();
    try {
      lab = await startLab({
        stateDir, basePort, lunSize: scenario.lab.size, mode: 'async',
        print: () => undefined, rewrite: () => undefined,
        onPartEvent: (event) => out(`  lab: ${event.message}`),
      });
    } catch (error) {
      fail(`the scenario's lab failed to start: ${(error as Error).message}`);
    }
    out(`lab ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${lab.ready.pairs.map((p) => `${p.pairId} ${p.source} → ${p.target}`).join(', ')}`);
  }
  const driver = await LabDriver.open(stateDir);
  out(`scenario ${scenario.name} (${file}) on the lab in ${stateDir}${scenario.description ? `: ${scenario.description.trim()}` : ''}`);
  let passed = false;
  try {
    const report = await runScenario(scenario, driver, out);
    passed = report.passed;
    const total = `${report.steps.length} of ${scenario.steps.length} steps in ${(report.tookMs / 1000).toFixed(1)} s`;
    if (report.failed) out(`scenario ${scenario.name}: FAILED at step ${report.failed.step.number} "${report.failed.title}" (${titleOf(report.failed.step.action)}): ${report.failed.detail} [${total}]`);
    else out(`scenario ${scenario.name}: PASSED (${total})`);
  } finally {
    driver.close();
    if (lab) {
      if (flags.keepLab) out(`the lab keeps running in ${stateDir} until Ctrl-C`);
      else {
        await lab.stop();
        if (madeDir) await rm(madeDir, { recursive: true, force: true });
      }
    }
  }
  if (lab && flags.keepLab) await new Promise<void>((resolve) => process.once('SIGINT', () => { void lab.stop().then(resolve); }));
  exitSoon(passed ? 0 : 1);
}

async function check(file: string): Promise<void> {
  const scenario = await load(file);
  process.stdout.write(`${file}: scenario ${scenario.name}, ${scenario.steps.length} steps, valid\n`);
  for (const step of scenario.steps) process.stdout.write(`  [${String(step.number).padStart(2)}] ${step.atMs === undefined ? '' : `at ${step.atMs / 1000} s: `}${step.name ?? titleOf(step.action)}\n`);
  exitSoon(0);
}

export function registerScenario(program: Command): void {
  const command = program.command('scenario').description('scripted DR drills: a timeline of link faults, LUN faults, site outages, pair operations, writes and assertions');
  command
    .command('run <file>')
    .description('run a scenario; exit 0 when every step passed, 1 naming the first failing step, 2 for an invalid file')
    .option('--state-dir <dir>', 'drive the lab running here (default: start one for the drill and stop it after)')
    .option('--base-port <n>', 'ports of a lab the scenario starts (default: free ones)')
    .option('--keep-lab', 'leave a lab the scenario started running (until Ctrl-C)')
    .action((file: string, flags: ScenarioFlags) => run(file, flags));
  command
    .command('check <file>')
    .description('validate a scenario file and list its steps')
    .action((file: string) => check(file));
}
