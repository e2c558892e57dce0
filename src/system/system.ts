/**
 * One simulated storage system: opens the LUN backstores of a SystemConfig, builds the SCSI targets
 * and the catalog, listens on every portal and (when configured) starts the CIM server. Implements the
 * SystemView that CIM, the CLI and replication read. The real parts come from
 * `defaultComponents()` (src/app/default-components.ts); unit tests pass fakes.
 */
import { dirname, isAbsolute, relative } from 'node:path';
import type { BackstoreKind, LunConfig, SystemConfig } from '../config/types.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { TargetEntry } from '../iscsi/catalog.ts';
import { lunIdentity } from '../scsi/identity.ts';
import type { ObservableBackstore } from '../storage/backstore.ts';
import { FileLockedError } from '../storage/file-lock.ts';
import { MemoryBudget } from '../storage/memory-budget.ts';
import { ObservedBackstore } from '../storage/observed-backstore.ts';
import { ensureFolder, missingFolders } from '../util/directories.ts';
import { logger } from '../util/log.ts';
import { SystemCatalog } from './catalog.ts';
import type { CimServerHandle, Fabric, SystemComponents, TargetCounters, UnitSpec } from './components.ts';
import type { IoCompletion, LunIoTotals } from '../scsi/io-counters.ts';
import { LiveLun } from './live-lun.ts';
import { sessionInfo, type SessionInfo } from './session-info.ts';
import type { LunView, PeerView, PortalView, SystemView, TargetView } from './view.ts';

interface LivePortal extends PortalView {
  port: number;
  listening: boolean;
}

export interface SystemSummary {
  readonly name: string;
  readonly stateDir: string;
  readonly portals: ReadonlyArray<{ address: string; port: number; portalGroupTag: number }>;
  readonly targets: ReadonlyArray<{ iqn: string; alias?: string; portalGroupTags: readonly number[]; luns: ReadonlyArray<{ lun: number; backstore: BackstoreKind; file?: string; sizeBytes: number; blockSize: number; naa: string; serial: string }> }>;
  readonly cimUrl?: string;
  /** Over HTTPS: the CIM server's certificate (PEM), for clients to trust. */
  readonly cimCertificate?: string;
  /** The system's HTTP server (/metrics, /healthz, /api/sessions) when `metrics:` is configured. */
  readonly httpUrl?: string;
}

/** A snapshot of one target's counters (`iscsi-sim serve` prints them on SIGUSR2 and at shutdown). */
export interface TargetCountersSnapshot {
  readonly iqn: string;
  readonly copyOperations: { count: number; bytes: number };
}

/** One LUN's read/write totals since start. */
export interface LunIoSnapshot extends Readonly<LunIoTotals> {
  readonly targetIqn: string;
  readonly lun: number;
}

/** Whether the system serves what it was configured to, and if not, what is missing. */
export interface Readiness {
  readonly ready: boolean;
  readonly problems: readonly string[];
}

/** resizeLun named a LUN the system does not have. */
export class LunNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LunNotFoundError';
  }
}

export class System implements SystemView {
  readonly name: string;
  readonly stateDir: string;
  readonly peers: readonly PeerView[];
  private readonly livePortals: LivePortal[];
  private liveTargets: TargetView[] = [];
  private readonly backstores: ObservableBackstore[] = [];
  private readonly memoryBudget: MemoryBudget;
  /** Backstore kind per `iqn/lun`, for the summary. */
  private readonly backstoreKinds = new Map<string, BackstoreKind>();
  private readonly targetCounters = new Map<string, TargetCounters>();
  /** Per target: tell the SCSI core a LUN grew (CAPACITY DATA HAS CHANGED to every nexus). */
  private readonly capacityListeners = new Map<string, (lun: number) => void>();
  private fabric: Fabric | undefined;
  private cim: CimServerHandle | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(
    readonly config: SystemConfig,
    private readonly components: SystemComponents,
  ) {
    this.name = config.name;
    this.stateDir = config.stateDir;
    this.peers = config.peers;
    this.memoryBudget = new MemoryBudget(config.memoryLimit ?? DEFAULTS.memoryLimit);
    this.livePortals = config.portals.map((p) => ({ address: p.address, port: p.port, portalGroupTag: p.portalGroupTag, listening: false }));
  }

  get portals(): readonly PortalView[] {
    return this.livePortals;
  }

  get targets(): readonly TargetView[] {
    return this.liveTargets;
  }

  get cimUrl(): string | undefined {
    return this.cim?.url;
  }

  lun(targetIqn: string, lun: number): LunView | undefined {
    return this.liveTargets.find((t) => t.iqn === targetIqn.toLowerCase())?.luns.find((l) => l.lun === lun);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`system ${this.name} was already started`);
    this.state = 'starting';
    const log = logger.child({ component: 'system', system: this.name });
    try {
      const components = this.components;
      await ensureFolder(this.stateDir);
      const entries = await this.openTargets(components);
      const catalog = new SystemCatalog(entries, () => this.livePortals.filter((p) => p.listening), this.config.discoveryChap);
      const fabric = components.createFabric(catalog, this.config.keepAlive === undefined ? {} : { keepAlive: this.config.keepAlive });
      this.fabric = fabric;
      for (const portal of this.livePortals) {
        const bound = await fabric.listen({ address: portal.address, port: portal.port, portalGroupTag: portal.portalGroupTag }).catch((error: unknown) => {
          throw new Error(`cannot listen on ${portal.address}:${portal.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        });
        portal.port = bound.port;
        portal.listening = true;
      }
      if (this.config.cim.enabled) {
        // CIM call site: startCimServer from src/cim/index.ts, through src/app/default-components.ts.
        if (components.startCim === undefined) log.warn('CIM is enabled in the config but this build has no CIM server');
        else this.cim = await components.startCim(this, this.config.cim);
      }
      this.state = 'running';
    } catch (error) {
      await this.release(log);
      this.state = 'stopped';
      throw error;
    }
  }

  /**
   * Closes portals and sessions, the CIM server, then flushes and closes every backing file. Every
   * step runs; if any failed, rejects afterwards with a ShutdownError naming each.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const failures = await this.release(logger.child({ component: 'system', system: this.name }));
    this.state = 'stopped';
    // A flush that failed may mean written data is not on disk: the operator must hear of it.
    if (failures.length > 0) throw new ShutdownError(`system ${this.name} stopped with errors: ${failures.join('; ')}`);
  }

  summary(): SystemSummary {
    return {
      name: this.name,
      stateDir: this.stateDir,
      portals: this.livePortals.map((p) => ({ address: p.address, port: p.port, portalGroupTag: p.portalGroupTag })),
      targets: this.liveTargets.map((t) => ({
        iqn: t.iqn,
        ...(t.alias === undefined ? {} : { alias: t.alias }),
        portalGroupTags: t.portalGroupTags,
        luns: t.luns.map((l) => ({ lun: l.lun, backstore: this.backstoreKinds.get(`${t.iqn}/${l.lun}`) ?? 'file', ...(l.file === undefined ? {} : { file: l.file }), sizeBytes: l.sizeBytes, blockSize: l.blockSize, naa: l.naa, serial: l.serial })),
      })),
      ...(this.cimUrl === undefined ? {} : { cimUrl: this.cimUrl }),
      ...(this.cim?.certificateFile === undefined ? {} : { cimCertificate: this.cim.certificateFile }),
    };
  }

  counters(): TargetCountersSnapshot[] {
    return this.liveTargets.map((t) => {
      const copy = this.targetCounters.get(t.iqn)?.copyOperations;
      return { iqn: t.iqn, copyOperations: { count: copy?.count ?? 0, bytes: copy?.bytes ?? 0 } };
    });
  }

  /** Every LUN's read/write totals (zeros when the SCSI core keeps none). */
  lunIo(): LunIoSnapshot[] {
    return this.liveTargets.flatMap((t) => t.luns.map((l) => {
      const totals = this.targetCounters.get(t.iqn)?.io?.luns.get(l.lun);
      return { targetIqn: t.iqn, lun: l.lun, readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0, errors: 0, ...totals };
    }));
  }

  /** Calls `listener` for each read/write command any LUN completes; returns the unsubscribe. */
  observeIo(listener: (targetIqn: string, completion: IoCompletion) => void): () => void {
    const stops = [...this.targetCounters].map(([iqn, counters]) => counters.io?.observe((completion) => listener(iqn, completion)));
    return () => { for (const stop of stops) stop?.(); };
  }

  /**
   * Online resize (issue 11): grows a LUN's backstore (a file is extended sparse, a memory LUN just
   * gets bigger), then every I_T nexus gets CAPACITY DATA HAS CHANGED (SBC-4 §4.4.5). Never shrinks;
   * errors name what is wrong and change nothing.
   */
  async resizeLun(targetIqn: string, lunNumber: number, sizeBytes: number): Promise<LunView> {
    const lun = this.lun(targetIqn, lunNumber);
    if (lun === undefined) throw new LunNotFoundError(`no LUN ${lunNumber} in target ${targetIqn}`);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= lun.sizeBytes) throw new RangeError(`size: ${sizeBytes} bytes does not grow the LUN (${lun.sizeBytes} bytes now; a LUN never shrinks)`);
    if (sizeBytes % lun.blockSize !== 0) throw new RangeError(`size: ${sizeBytes} bytes is not a multiple of the block size ${lun.blockSize}`);
    if (!lun.backstore.capabilities.resize) throw new RangeError(`size: ${lun.backstore.label} cannot grow`);
    await lun.backstore.resize(sizeBytes);
    this.capacityListeners.get(lun.targetIqn)?.(lunNumber);
    logger.child({ component: 'system', system: this.name }).info({ target: lun.targetIqn, lun: lunNumber, sizeBytes }, 'LUN resized');
    return lun;
  }

  /** Sessions logged in right now (discovery ones included), from the fabric's registry. */
  sessions(): SessionInfo[] {
    return (this.fabric?.sessions?.() ?? []).map(sessionInfo);
  }

  readiness(): Readiness {
    const problems: string[] = [];
    if (this.state !== 'running') problems.push(`system is ${this.state}`);
    for (const portal of this.livePortals) {
      if (!portal.listening) problems.push(`portal ${portal.address}:${portal.port} is not listening`);
    }
    const cimProblem = this.cim?.persistProblem?.();
    if (cimProblem !== undefined) problems.push(cimProblem);
    return { ready: problems.length === 0, problems };
  }

  private async openTargets(components: SystemComponents): Promise<TargetEntry[]> {
    const entries: TargetEntry[] = [];
    for (const target of this.config.targets) {
      const specs: UnitSpec[] = [];
      for (const lunConfig of target.luns) {
        const backstore = await this.openLun(components, target.iqn, lunConfig);
        this.backstores.push(backstore);
        this.backstoreKinds.set(`${target.iqn}/${lunConfig.lun}`, lunConfig.backstore);
        // APTPL state lives next to a LUN file (it survives restarts like the data); a memory LUN's stays in memory.
        const identity = lunIdentity({
          systemName: this.name, targetIqn: target.iqn, lun: lunConfig.lun,
          ...(lunConfig.serial === undefined ? {} : { serial: lunConfig.serial }),
          ...(lunConfig.backstore === 'file' && lunConfig.file !== undefined ? { stateBase: lunConfig.file } : {}),
        });
        specs.push({ config: lunConfig, backstore, ...identity });
      }
      const built = components.buildTarget(target, specs);
      if (built.capacityChanged !== undefined) this.capacityListeners.set(target.iqn, built.capacityChanged.bind(built));
      if (built.counters !== undefined) this.targetCounters.set(target.iqn, built.counters);
      const luns = specs.map((spec) => {
        const unit = built.units.get(spec.config.lun);
        if (unit === undefined) throw new Error(`target ${target.iqn} built no unit for LUN ${spec.config.lun}`);
        return new LiveLun({ targetIqn: target.iqn, lun: spec.config.lun, ...(spec.config.file === undefined ? {} : { file: spec.config.file }), naa: spec.naa, serial: spec.serial, backstore: spec.backstore, unit, readOnly: spec.config.readOnly });
      });
      this.liveTargets.push({ iqn: target.iqn, ...(target.alias === undefined ? {} : { alias: target.alias }), portalGroupTags: target.portalGroupTags, luns });
      entries.push({
        iqn: target.iqn,
        ...(target.alias === undefined ? {} : { alias: target.alias }),
        portalGroupTags: target.portalGroupTags,
        allowedInitiators: target.allowedInitiators,
        ...(target.chap === undefined ? {} : { chap: target.chap }),
        device: built.device,
      });
    }
    return entries;
  }

  /**
   * Folders inside the state dir are ours to create; one elsewhere must exist unless the LUN says
   * createParents (a typo in a path should not silently create /nonexistent/dir). Errors name the LUN.
   */
  private async openLun(components: SystemComponents, iqn: string, lunConfig: LunConfig): Promise<ObservableBackstore> {
    const which = `LUN ${lunConfig.lun} of ${iqn} (${lunConfig.file ?? lunConfig.backstore})`;
    try {
      if (lunConfig.file !== undefined) await this.prepareFolder(lunConfig.file, lunConfig.createParents === true);
      const backstore = await components.openBackstore(lunConfig, { label: `LUN ${lunConfig.lun} of ${iqn}`, memoryBudget: this.memoryBudget, targetIqn: iqn });
      return new ObservedBackstore(backstore);
    } catch (error) {
      const reason = error instanceof FileLockedError ? `the file is in use by ${error.holder}` : (error as Error).message;
      throw new Error(`${which}: ${reason}`, { cause: error });
    }
  }

  private async prepareFolder(file: string, createParents: boolean): Promise<void> {
    const folder = dirname(file);
    const relativeToState = relative(this.stateDir, folder);
    const inStateDir = relativeToState === '' || (!relativeToState.startsWith('..') && !isAbsolute(relativeToState));
    if (!inStateDir && !createParents) {
      const missing = await missingFolders(folder);
      if (missing.length > 0) throw new Error(`folder ${missing[0]} does not exist (create it, or set createParents: true on the LUN; quick form: --mkdir)`);
    }
    await ensureFolder(folder);
  }

  /** Best effort: every step runs even if an earlier one failed; returns what failed ("step: error"). */
  private async release(log: typeof logger): Promise<string[]> {
    const failures: string[] = [];
    const step = async (what: string, action: () => Promise<void>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        log.error({ err: error }, `${what} failed during shutdown`);
        failures.push(`${what}: ${(error as Error).message}`);
      }
    };
    const fabric = this.fabric;
    this.fabric = undefined;
    if (fabric !== undefined) await step('closing portals and sessions', () => fabric.close());
    for (const portal of this.livePortals) portal.listening = false;
    const cim = this.cim;
    this.cim = undefined;
    if (cim !== undefined) await step('closing the CIM server', () => cim.close());
    for (const backstore of this.backstores.splice(0)) {
      await step(`flushing ${backstore.label}`, () => backstore.flush());
      await step(`closing ${backstore.label}`, () => backstore.close());
    }
    return failures;
  }
}

/** Some shutdown steps failed (all were tried); the message names each step and its error. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
}
