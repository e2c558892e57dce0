/**
 * All sessions of one fabric: TSIH allocation, session reinstatement (RFC 7143 §6.3.5: a new login
 * with the same InitiatorName + ISID to the same target closes the old session) and listings.
 */
import type { Session } from './session.ts';

export class SessionRegistry {
  private readonly sessions = new Map<number, Session>();
  private nextTsih = 1;

  /** A TSIH not in use (1..65535; 0 is reserved for "new session"). */
  allocateTsih(): number {
    for (let i = 0; i < 65535; i++) {
      const tsih = this.nextTsih;
      this.nextTsih = tsih >= 65535 ? 1 : tsih + 1;
      if (!this.sessions.has(tsih)) return tsih;
    }
    throw new Error('no free TSIH');
  }

  get size(): number {
    return this.sessions.size;
  }

  has(tsih: number): boolean {
    return this.sessions.has(tsih);
  }

  /** The session a new login would reinstate, if any. */
  findSame(initiatorName: string, isid: string, targetName: string | undefined): Session | undefined {
    for (const s of this.sessions.values()) {
      if (s.initiatorName === initiatorName && s.isid === isid && s.target?.iqn === targetName) return s;
    }
    return undefined;
  }

  add(session: Session): void {
    this.sessions.set(session.tsih, session);
  }

  remove(session: Session): void {
    if (this.sessions.get(session.tsih) === session) this.sessions.delete(session.tsih);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  ofTarget(iqn: string): Session[] {
    return this.all().filter((s) => s.target?.iqn === iqn);
  }
}
