/**
 * A system's configuration as validated by src/config/load.ts (YAML or JSON on disk). Sizes are
 * bytes after parsing ("1G", "10T" are accepted in files); paths are absolute after loading
 * (relative ones resolve against the config file's folder, or the state dir for LUN files).
 */

export interface PortalConfig {
  readonly address: string;   // IPv4 or IPv6 literal, or a host name
  readonly port: number;
  readonly portalGroupTag: number;
}

export interface ChapConfig {
  readonly user: string;
  readonly secret: string;
  readonly mutualUser?: string;
  readonly mutualSecret?: string;
}

/** Where a LUN's blocks live: a sparse file (default) or RAM (lost at exit; for CI). */
export const BACKSTORE_KINDS = ['file', 'memory'] as const;
export type BackstoreKind = typeof BACKSTORE_KINDS[number];

/** SANITIZE offered (SBC-4 §5.30): OVERWRITE and CRYPTO ERASE, BLOCK ERASE on a thin LUN. */
export interface SanitizeConfig {
  /** Each sanitize operation lasts at least this long (NOT READY, SANITIZE IN PROGRESS meanwhile); 0 = as fast as the backstore. */
  readonly seconds: number;
}

/** What the LU says it is and which device behaviours it has (issue 11); absent = a fixed 512n disk. */
export interface DevicePersonality {
  /** INQUIRY T10 VENDOR IDENTIFICATION (≤ 8), PRODUCT IDENTIFICATION (≤ 16), PRODUCT REVISION LEVEL (≤ 4). */
  readonly vendor?: string;
  readonly product?: string;
  readonly revision?: string;
  /** RMB=1: PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT load/eject apply. */
  readonly removable?: boolean;
  /** log2(physical block / logical block), 1..15 (3 = 512e with 512-byte blocks). */
  readonly physicalBlockExponent?: number;
  readonly sanitize?: SanitizeConfig;
}

export interface LunConfig {
  readonly lun: number;
  readonly backstore: BackstoreKind;
  /** The backing file (absolute); absent for a memory LUN. */
  readonly file?: string;
  readonly sizeBytes: number;
  readonly blockSize: number;   // 512 or 4096
  /** Product serial / NAA seed; derived from system+target+lun when absent. */
  readonly serial?: string;
  readonly readOnly: boolean;
  /** Thin provisioning (LBPME, UNMAP); absent = on when the backstore can punch holes. */
  readonly thinProvisioning?: boolean;
  /** Create missing folders of `file` outside the state dir (otherwise a missing one is an error). */
  readonly createParents?: boolean;
  /** Fault rules active from start (src/scsi/faults/fault-rule.ts checks them when the LUN opens). */
  readonly faults?: readonly ConfiguredFault[];
  /** Vendor strings, removable medium, 512e, SANITIZE; absent = defaults. */
  readonly personality?: DevicePersonality;
}

/** One entry of a LUN's `faults:` list, as written, with its path for error messages. */
export interface ConfiguredFault {
  /** `targets[0].luns[1].faults[2]` */
  readonly path: string;
  readonly rule: Readonly<Record<string, unknown>>;
}

export interface TargetConfig {
  readonly iqn: string;
  readonly alias?: string;
  readonly portalGroupTags: readonly number[];
  readonly luns: readonly LunConfig[];
  readonly allowedInitiators: readonly string[];
  readonly chap?: ChapConfig;
}

/** CIM-XML over HTTPS: both PEM files, or neither (a self-signed pair made in the state dir). */
export interface CimTlsConfig {
  readonly cert?: string;
  readonly key?: string;
}

export interface CimConfig {
  readonly enabled: boolean;
  readonly address: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  /** A non-loopback address without user/password is refused unless this is true (see exposure.ts). */
  readonly allowUnauthenticated?: boolean;
  /** Present = HTTPS (port 5989 by default); absent = plain HTTP (5988). */
  readonly https?: CimTlsConfig;
  /** Basic auth over plain HTTP sends the password in clear text: refused unless this is true. */
  readonly allowBasicAuthOverHttp?: boolean;
}

export interface MetricsConfig {
  readonly address: string;
  readonly port: number;
  /** GET needs no authentication: a non-loopback address needs a token or this set to true. */
  readonly allowUnauthenticated?: boolean;
  /** Bearer token every non-GET request (fault and link controls) must carry; absent = none asked. */
  readonly token?: string;
}

export interface PeerConfig {
  readonly name: string;
  readonly cimUrl: string;
  readonly user?: string;
  readonly password?: string;
  /** PEM file of the CA (or the self-signed certificate) to trust for an https cimUrl. */
  readonly ca?: string;
  /** Accept any certificate from an https cimUrl (labs with self-signed certificates only). */
  readonly insecure?: boolean;
}

/** The target pings an idle connection after idleSeconds and drops it when timeoutSeconds pass unanswered. */
export interface KeepAliveConfig {
  readonly idleSeconds: number;
  readonly timeoutSeconds: number;
}

export interface SystemConfig {
  readonly name: string;
  readonly stateDir: string;
  readonly portals: readonly PortalConfig[];
  readonly targets: readonly TargetConfig[];
  readonly discoveryChap?: ChapConfig;
  readonly cim: CimConfig;
  readonly peers: readonly PeerConfig[];
  /**
   * Where replication keeps its shared state: `redis://…`, or a Redis Cluster as
   * `redis+cluster://h1:p1,h2:p2` (what config `redis: {cluster: [h1:p1, …]}` becomes).
   */
  readonly redisUrl?: string;
  readonly metrics?: MetricsConfig;
  /** Bytes of RAM the system's memory LUNs may allocate together (default DEFAULTS.memoryLimit, 1 GiB). */
  readonly memoryLimit?: number;
  /** NOP-In pings on idle connections; absent = defaults, idleSeconds 0 = no pings (tgtd's way). */
  readonly keepAlive?: KeepAliveConfig;
}
