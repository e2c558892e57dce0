/**
 * Run inside the primary's network namespace (the test's own process cannot reach it): creates the
 * mirror from the primary's LUN 0 to the peer's LUN 0 through the primary's CIM server, as the lab does
 * (CreateRemoteReplicationCollection, CreateElementReplica, the job polled to its end). Argument: one
 * JSON document {cimUrl, ca, user, password, primary, peer} (the two ready summaries). Prints
 * `mirror created` and exits 0, or prints why and exits 1.
 * With `"peers": true` it only asks the server at cimUrl (run in that system's namespace) which peers it
 * reaches (GetPeerSystems, Options 2: reachable only) and prints `reachable: <names>`.
 */
import { CimClient } from '../../../src/cim/client/client.ts';
import { servicePath } from '../../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../../src/cim/types.ts';
import { createMirror, ensureCollection, waitForJob } from '../../../src/lab/lab-cim-setup.ts';
import type { SystemSummary } from '../../../src/system/system.ts';

interface Input {
  readonly cimUrl: string;
  readonly ca: string;
  readonly user: string;
  readonly password: string;
  readonly primary: SystemSummary;
  readonly peer: SystemSummary;
  /** The name of the system serving cimUrl (peers mode). */
  readonly system?: string;
  readonly peers?: boolean;
}

const input = JSON.parse(process.argv[2] ?? '{}') as Input;
try {
  const cim = new CimClient({ url: input.cimUrl, caFile: input.ca, user: input.user, password: input.password, timeoutMs: 30_000 });
  if (input.peers) {
    const result = await cim.invokeMethod({ ...servicePath(input.system ?? input.primary.name), namespace: TARGET_NAMESPACE }, 'GetPeerSystems', { Options: 2 });
    const systems = result.out.Systems;
    const names = systems?.kind === 'refarray' ? systems.paths.map((path) => String(path.keys.Name)) : [];
    process.stdout.write(`GetPeerSystems ${result.returnValue} reachable: ${names.join(',')}\n`);
    process.exit(result.returnValue === 0 ? 0 : 1);
  }
  const collection = await ensureCollection(cim, input.primary, input.peer);
  const job = await createMirror(cim, input.primary, input.peer, collection, 'async');
  if (job) await waitForJob(cim, job, 60_000);
  process.stdout.write('mirror created\n');
} catch (error) {
  process.stdout.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
