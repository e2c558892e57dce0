/**
 * `iscsi-sim site down|up|list`: takes a part of a running lab (redis, primary, peer) down on purpose —
 * it stays down, the lab does not restart it — and brings it back, through the lab's control socket.
 */
import type { Command } from 'commander';
import { askLab, type LabAnswer, type LabRequest } from '../../lab/lab-control.ts';
import { exitSoon, fail } from '../lifecycle.ts';

interface SiteFlags {
  stateDir: string;
  kill?: boolean;
}

function partsTable(answer: LabAnswer): string {
  return answer.parts.map((p) => `${p.name.padEnd(8)} ${p.state.padEnd(10)} ${p.pid === undefined ? '-' : `pid ${p.pid}`}  deaths ${p.deaths}`).join('\n');
}

async function site(request: LabRequest, flags: SiteFlags): Promise<void> {
  let answer: LabAnswer;
  try {
    answer = await askLab(flags.stateDir, request);
  } catch (error) {
    fail((error as Error).message);
  }
  if (!answer.ok) fail(answer.message);
  process.stdout.write(`${answer.message === '' ? partsTable(answer) : answer.message}\n`);
  exitSoon(0);
}

export function registerSite(program: Command): void {
  const command = program
    .command('site')
    .description('take a part of a running lab (redis, primary, peer) down on purpose and bring it back');
  command
    .command('down <part>')
    .description('stop the part (SIGTERM; --kill for SIGKILL, as in a crash); the lab leaves it down')
    .option('--kill', 'SIGKILL instead of a clean stop')
    .option('--state-dir <dir>', 'the lab\'s state dir', 'state/lab')
    .action((part: string, flags: SiteFlags) => site({ op: 'down', part, kill: flags.kill === true }, flags));
  command
    .command('up <part>')
    .description('start the part again (same ports and state); waits until it serves')
    .option('--state-dir <dir>', 'the lab\'s state dir', 'state/lab')
    .action((part: string, flags: SiteFlags) => site({ op: 'up', part }, flags));
  command
    .command('list')
    .description('the lab\'s parts: up, restarting, down, given-up')
    .option('--state-dir <dir>', 'the lab\'s state dir', 'state/lab')
    .action((flags: SiteFlags) => site({ op: 'list' }, flags));
}
