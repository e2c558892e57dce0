/**
 * One system of the lab as its own process: `iscsi-sim serve` plus the replication engine (the same
 * assembly serve uses, with replication attached). Prints serve's ready line once portals, CIM and the
 * engine run, then runs until SIGINT/SIGTERM.
 */
import { loadConfigFile } from '../config/load.ts';
import { defaultComponents } from '../system/default-components.ts';
import { System } from '../system/system.ts';
import { readyLine } from '../cli/ready-line.ts';
import { stopOnSignals } from '../cli/lifecycle.ts';
import { withReplication } from '../replication/attach-system.ts';

export async function runLabNode(configPath: string): Promise<void> {
  const config = await loadConfigFile(configPath);
  const replicated = withReplication(defaultComponents());
  const system = new System(config, replicated.components);
  await system.start();
  const replication = await replicated.attach(system, config);
  process.stdout.write(`${readyLine(system.summary())}\n`);
  await stopOnSignals(async () => {
    await replication?.close();
    await system.stop();
  }, `system ${config.name}`);
}
