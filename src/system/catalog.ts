/** The TargetCatalog the fabric reads, over the system's targets and its listening portals. */
import type { ChapCredentials, PortalAddress, TargetCatalog, TargetEntry } from '../iscsi/catalog.ts';

export class SystemCatalog implements TargetCatalog {
  private readonly byIqn: ReadonlyMap<string, TargetEntry>;
  readonly discoveryChap?: ChapCredentials;

  constructor(
    private readonly entries: readonly TargetEntry[],
    private readonly listeningPortals: () => readonly PortalAddress[],
    discoveryChap?: ChapCredentials,
  ) {
    this.byIqn = new Map(entries.map((entry) => [entry.iqn, entry]));
    if (discoveryChap !== undefined) this.discoveryChap = discoveryChap;
  }

  targets(): readonly TargetEntry[] {
    return this.entries;
  }

  /** iSCSI names compare case-insensitively (RFC 7143 §4.2.7.1: stringprep maps to lower case). */
  target(iqn: string): TargetEntry | undefined {
    return this.byIqn.get(iqn.toLowerCase());
  }

  portalsOfGroup(portalGroupTag: number): readonly PortalAddress[] {
    return this.listeningPortals().filter((portal) => portal.portalGroupTag === portalGroupTag);
  }
}
