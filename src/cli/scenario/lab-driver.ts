/**
 * What scenario steps do to a running lab, through the same surfaces an operator uses: the lab's
 * control socket (site down/up, Redis included), each system's HTTP API (/api/links, /api/faults),
 * the CIM servers (pair operations, VerifyReplica), the shared Redis (pair status) and the project's
 * block initiator on the portals. Every call is bounded; failures are errors naming the system.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CimClient } from '../../cim/client/client.ts';
import { CLS, servicePath } from '../../cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../cim/types.ts';
import { BlockSession, type BlockResult } from '../../initiator/block-session.ts';
import { askLab } from '../../lab/lab-control.ts';
import type { LabReady } from '../../lab/lab-runner.ts';
import type { LinkChange } from '../../replication/link/link-conditions.ts';
import type { PairStatus } from '../../replication/pair-types.ts';
import { readPairReports } from '../../replication/status-reader.ts';
import { StoreConnection } from '../../replication/transport/store-connection.ts';
import { cimEndpoints, connectCim, jobOutcome, OPERATIONS, pairView, reasonOf, RETURN_TEXT, type PairView } from '../cim-pairs.ts';
import { changeLinks, choosePairs, outcomeLines, readLinks } from '../link-control.ts';
import { httpBaseOf } from '../system-sessions.ts';
import { requestJson } from '../system-http.ts';

type LabSystem = LabReady['systems'][number];

export class LabDriver {
  private redis: StoreConnection | undefined;

  private constructor(readonly stateDir: string, readonly lab: LabReady) {}

  static async open(stateDir: string): Promise<LabDriver> {
    const file = join(stateDir, 'lab.json');
    let lab: LabReady;
    try {
      lab = JSON.parse(await readFile(file, 'utf8')) as LabReady;
    } catch (error) {
      throw new Error(`no lab in ${stateDir} (${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return new LabDriver(stateDir, lab);
  }

  close(): void {
    this.redis?.close();
  }

  system(name: string): LabSystem {
    const found = this.lab.systems.find((s) => s.name === name);
    if (!found) throw new Error(`the lab has no system ${name} (it has ${this.lab.systems.map((s) => s.name).join(', ')})`);
    return found;
  }

  /** The pair's status as `iscsi-sim status` reads it (Redis); rejects while Redis does not answer. */
  async status(pairId?: string): Promise<PairStatus | undefined> {
    this.redis ??= new StoreConnection(this.lab.redisUrl, { lazy: true, deadlineMs: 2000 });
    try {
      await this.redis.connect();
      const reports = await readPairReports(this.redis.store);
      const report = pairId === undefined ? reports[0] : reports.find((r) => r.entry.record.pairId === pairId);
      return report?.status;
    } catch (error) {
      this.redis.close();
      this.redis = undefined;
      throw new Error(`Redis (${this.lab.redisUrl}) does not answer: ${(error as Error).message}`);
    }
  }

  /**
   * The RPO as the pair's source computes it right now (its /metrics, `role="source"`); the status in
   * Redis is published every few seconds and would miss a short lag. Undefined when no system answers
   * with a source gauge (the source is down).
   */
  async liveRpo(): Promise<number | undefined> {
    for (const system of this.lab.systems) {
      const body = await fetch(system.metricsUrl, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } }).then((r) => r.text(), () => '');
      const line = body.split('\n').find((l) => l.startsWith('iscsi_sim_replication_rpo_seconds{') && l.includes('role="source"'));
      const value = line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(value)) return value;
    }
    return undefined;
  }

  async link(pair: string | undefined, change: LinkChange | 'clear'): Promise<string> {
    const systems = await readLinks(this.lab.systems.map((s) => ({ name: s.name, url: httpBaseOf(s.metricsUrl) })));
    const ids = choosePairs(systems, pair, pair === undefined && systems.some((s) => (s.links?.length ?? 0) > 1));
    const outcomes = await changeLinks(systems, ids, change, process.env.ISCSI_SIM_TOKEN);
    const refused = outcomes.find((o) => o.applied.length === 0);
    if (refused) throw new Error(`the link of ${refused.pairId} was not changed on any system: ${refused.missed.map((m) => m.error).join('; ')}`);
    return outcomeLines(outcomes).join('; ');
  }

  /** Adds a fault rule on the system (its first target's LUN 0 unless the rule names one). */
  async fault(systemName: string, rule: Record<string, unknown>): Promise<string> {
    const system = this.system(systemName);
    const body = { target: system.targets[0]?.iqn, lun: system.targets[0]?.luns[0] ?? 0, ...rule };
    const added = await requestJson<{ id?: string }>({ name: system.name, url: httpBaseOf(system.metricsUrl) }, 'POST', '/api/faults', body, process.env.ISCSI_SIM_TOKEN);
    return `fault rule ${added.id ?? '?'} on ${system.name}: ${JSON.stringify(rule)}`;
  }

  async clearFaults(systemName: string): Promise<string> {
    const system = this.system(systemName);
    const answer = await requestJson<{ removed?: number }>({ name: system.name, url: httpBaseOf(system.metricsUrl) }, 'DELETE', '/api/faults', undefined, process.env.ISCSI_SIM_TOKEN);
    return `${answer.removed ?? 0} fault rules removed on ${system.name}`;
  }

  async site(op: 'down' | 'up', part: string, kill: boolean): Promise<string> {
    const answer = await askLab(this.stateDir, op === 'down' ? { op, part, kill } : { op, part });
    if (!answer.ok) throw new Error(answer.message);
    return answer.message;
  }

  /** ModifyReplicaSynchronization through the first CIM server that answers; waits for its job. */
  async pair(pairId: string | undefined, verb: string, force: boolean, timeoutMs: number): Promise<string> {
    const { client, endpoint, pairs } = await connectCim({ stateDir: this.stateDir });
    const pair = pickPair(pairs, pairId);
    const service = { ...servicePath(endpoint.system), namespace: TARGET_NAMESPACE };
    const result = await client.invokeMethod(service, 'ModifyReplicaSynchronization', { Synchronization: pair.path, Operation: OPERATIONS[verb]!, ...(force ? { Force: true } : {}) });
    if (result.returnValue !== 0 && result.returnValue !== 4096) {
      throw new Error(`${verb} refused by ${endpoint.system}: ${reasonOf(result)} [returned ${result.returnValue} (${RETURN_TEXT[result.returnValue] ?? 'unknown'})]`);
    }
    const job = result.out.Job;
    if (result.returnValue === 4096 && job?.kind === 'ref') {
      const error = await jobOutcome(client, job.path, timeoutMs);
      if (error !== undefined) throw new Error(`${verb} failed: ${error}`);
    }
    const after = (await client.enumerateInstances(TARGET_NAMESPACE, CLS.synchronized)).map(({ path, instance }) => pairView(path, instance)).find((p) => p.id === pair.id);
    return `${pair.id}: ${verb} done through ${endpoint.system}${after ? ` (now ${after.source} → ${after.target})` : ''}`;
  }

  /**
   * VerifyReplica on the pair's current source (its CIM server): chunk digests (sha256) of both LUNs
   * compared at an epoch boundary.
   */
  async verify(pairId: string | undefined): Promise<{ compared: number; divergent: number; inFlux: number; returnValue: number }> {
    const { pairs } = await connectCim({ stateDir: this.stateDir });
    const pair = pickPair(pairs, pairId);
    const endpoint = (await cimEndpoints({ stateDir: this.stateDir })).find((e) => e.system === pair.source);
    if (!endpoint) throw new Error(`no CIM server for ${pair.source}, the source of ${pair.id}`);
    const client = new CimClient({ url: endpoint.url, caFile: endpoint.caFile, timeoutMs: 5 * 60_000 });
    const answer = await client.invokeMethod({ ...servicePath(endpoint.system), namespace: TARGET_NAMESPACE }, 'VerifyReplica', { Synchronization: pair.path, Repair: false });
    const number = (name: string): number => { const v = answer.out[name]; return v?.kind === 'value' ? Number(v.text) : 0; };
    const divergent = answer.out.DivergentOffsets;
    return { returnValue: answer.returnValue, compared: number('ComparedChunks'), inFlux: number('InFluxChunks'), divergent: divergent?.kind === 'array' ? divergent.items.length : 0 };
  }

  /** sha256 of a system's whole LUN 0, read through its portal with the project's initiator. */
  lunSha256(systemName: string): Promise<string> {
    return this.inSession(systemName, async (session) => {
      const hash = createHash('sha256');
      const total = session.blocks * session.blockSize;
      for (let at = 0; at < total; at += 8 * 1024 * 1024) {
        const piece = await session.read(at, Math.min(8 * 1024 * 1024, total - at));
        if (piece.status !== 0 || !piece.data) throw new Error(`reading ${systemName}'s LUN at ${at} answered status 0x${piece.status.toString(16)}${piece.sense ? ` sense ${senseText(piece)}` : ''}`);
        hash.update(piece.data);
      }
      return hash.digest('hex');
    });
  }

  write(systemName: string, offset: number, data: Buffer): Promise<BlockResult> {
    return this.inSession(systemName, (session) => session.write(offset, data));
  }

  read(systemName: string, offset: number, size: number): Promise<BlockResult> {
    return this.inSession(systemName, (session) => session.read(offset, size));
  }

  /** One login to the system's LUN 0 for `work`, logged out after it (also when it fails). */
  private async inSession<T>(systemName: string, work: (session: BlockSession) => Promise<T>): Promise<T> {
    const session = await this.session(systemName);
    try {
      return await work(session);
    } finally {
      await session.logout();
    }
  }

  private session(systemName: string): Promise<BlockSession> {
    const system = this.system(systemName);
    const portal = system.portals[0];
    const target = system.targets[0];
    if (!portal || !target) throw new Error(`system ${systemName} has no portal or target`);
    return BlockSession.login({ host: portal.address, port: portal.port, targetName: target.iqn, lun: target.luns[0] ?? 0 });
  }
}

function pickPair(pairs: readonly PairView[], pairId: string | undefined): PairView {
  if (pairId === undefined) {
    if (pairs.length === 1) return pairs[0]!;
    throw new Error(pairs.length === 0 ? 'no mirror pairs' : `name the pair: ${pairs.map((p) => p.id).join(', ')}`);
  }
  const found = pairs.find((p) => p.id === pairId || p.id.startsWith(pairId));
  if (!found) throw new Error(`no mirror pair ${pairId} (known: ${pairs.map((p) => p.id).join(', ') || 'none'})`);
  return found;
}

export function senseText(result: BlockResult): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return result.sense ? `${hex(result.sense.key)}/${hex(result.sense.asc)}/${hex(result.sense.ascq)}` : 'none';
}
