/**
 * Mode pages of one LU (SPC-4 §7.5, SBC-3 §6.4): Caching (WCE=1 so Linux sends SYNCHRONIZE CACHE),
 * Control (SWP changeable: software write protect) and Informational Exceptions. Each page is kept
 * as its current bytes plus fixed default and changeable masks; MODE SELECT may only flip
 * changeable bits.
 */

export const enum ModePage {
  Caching = 0x08,
  Control = 0x0a,
  InformationalExceptions = 0x1c,
  AllPages = 0x3f,
}

export type PageControl = 'current' | 'changeable' | 'default' | 'saved';

interface PageDefinition {
  readonly code: number;
  readonly defaults: Buffer;
  readonly changeable: Buffer;
}

function caching(): PageDefinition {
  const defaults = Buffer.alloc(20);
  defaults[0] = ModePage.Caching;
  defaults[1] = 0x12;
  defaults[2] = 0x04; // WCE=1: writes may be cached until SYNCHRONIZE CACHE (SBC-3 §6.4.6)
  const changeable = Buffer.alloc(20);
  changeable[2] = 0x04; // WCE
  return { code: ModePage.Caching, defaults, changeable };
}

function control(): PageDefinition {
  const defaults = Buffer.alloc(12);
  defaults[0] = ModePage.Control;
  defaults[1] = 0x0a;
  defaults[2] = 0x00; // TST=000 (one task set), D_SENSE=0 (fixed-format sense)
  defaults[3] = 0x10; // QUEUE ALGORITHM MODIFIER=1 (unrestricted reordering), QERR=00
  defaults[5] = 0x40; // TAS=1: aborted tasks of other nexuses get TASK ABORTED status
  defaults.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
  const changeable = Buffer.alloc(12);
  changeable[4] = 0x08; // SWP (software write protect)
  return { code: ModePage.Control, defaults, changeable };
}

function informationalExceptions(): PageDefinition {
  const defaults = Buffer.alloc(12);
  defaults[0] = ModePage.InformationalExceptions;
  defaults[1] = 0x0a;
  defaults[2] = 0x08; // DEXCPT=1: informational exception reporting disabled (nothing to report)
  const changeable = Buffer.alloc(12);
  return { code: ModePage.InformationalExceptions, defaults, changeable };
}

export class ModePages {
  private readonly definitions: readonly PageDefinition[] = [caching(), control(), informationalExceptions()];
  private readonly current = new Map<number, Buffer>();

  constructor() {
    for (const d of this.definitions) this.current.set(d.code, Buffer.from(d.defaults));
  }

  get writeCacheEnabled(): boolean {
    return (this.current.get(ModePage.Caching)![2] & 0x04) !== 0;
  }

  get softwareWriteProtect(): boolean {
    return (this.current.get(ModePage.Control)![4] & 0x08) !== 0;
  }

  has(code: number): boolean {
    return this.definitions.some((d) => d.code === code);
  }

  /** Page bytes for one code (or all pages in ascending order for 0x3f). */
  pages(code: number, control: Exclude<PageControl, 'saved'>): Buffer[] {
    const selected = code === ModePage.AllPages ? this.definitions : this.definitions.filter((d) => d.code === code);
    return selected.map((d) => {
      if (control === 'changeable') return Buffer.from(d.changeable.map((byte, i) => (i < 2 ? d.defaults[i] : byte)));
      if (control === 'default') return Buffer.from(d.defaults);
      return Buffer.from(this.current.get(d.code)!);
    });
  }

  /**
   * Applies one page from a MODE SELECT parameter list. Returns the offset (within the page) of the
   * first invalid byte, or undefined when applied. Validation happens before any change.
   */
  validate(page: Buffer): number | undefined {
    const code = page[0] & 0x3f;
    const definition = this.definitions.find((d) => d.code === code);
    if (!definition || (page[0] & 0x40) !== 0) return 0; // unknown page or sub-page format
    if (page.length !== definition.defaults.length || page[1] !== definition.defaults[1]) return 1;
    const current = this.current.get(code)!;
    for (let i = 2; i < page.length; i++) {
      if ((page[i] & ~definition.changeable[i] & 0xff) !== (current[i] & ~definition.changeable[i] & 0xff)) return i;
    }
    return undefined;
  }

  /** Stores a page already accepted by validate(); true when anything changed. */
  apply(page: Buffer): boolean {
    const code = page[0] & 0x3f;
    const current = this.current.get(code)!;
    const next = Buffer.from(page);
    next[0] = current[0];
    const changed = !next.equals(current);
    this.current.set(code, next);
    return changed;
  }
}
