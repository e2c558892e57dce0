/**
 * What a completed login turns into: the session it opens. Session reinstatement (RFC 7143 §6.3.5: a
 * new login with the same InitiatorName + ISID to the same target closes the old session first), TSIH
 * allocation, registration and telling the SCSI device about the new I_T nexus.
 */
import type { Logger } from '../util/log.ts';
import type { PortalAddress } from './catalog.ts';
import type { LoginResult } from './login.ts';
import { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';

export interface SessionBindingContext {
  readonly registry: SessionRegistry;
  readonly portal: PortalAddress;
  readonly queueDepth: number;
  readonly writeBudget: number;
}

export interface BindingPeer {
  /** "address:port" of the initiator, for displays. */
  readonly initiatorAddress: string;
  /** Closes the connection that will carry the session (reinstatement, cold reset). */
  readonly close: (reason: string) => void;
  readonly log: Logger;
}

/** Opens the session of a login that reached the full feature phase, replacing any it reinstates. */
export function bindSession(result: LoginResult, ctx: SessionBindingContext, peer: BindingPeer): Session {
  const registry = ctx.registry;
  const old = registry.findSame(result.initiatorName, result.isid.toString('hex'), result.target?.iqn);
  if (old) {
    peer.log.info({ tsih: old.tsih }, 'session reinstatement');
    old.closeConnection('session reinstated');
    registry.remove(old);
  }
  const session = new Session({
    tsih: registry.allocateTsih(),
    isid: result.isid,
    initiatorName: result.initiatorName,
    initiatorAlias: result.initiatorAlias,
    sessionType: result.sessionType,
    target: result.target,
    params: result.params,
    portal: ctx.portal,
    initiatorAddress: peer.initiatorAddress,
    firstCmdSN: result.cmdSN,
    queueDepth: ctx.queueDepth,
    writeBudget: ctx.writeBudget,
  });
  session.closeConnection = peer.close;
  registry.add(session);
  if (result.target && session.nexus) {
    try {
      result.target.device.nexusAdded(session.nexus);
    } catch (error) {
      peer.log.error({ err: error }, 'nexusAdded failed');
    }
  }
  return session;
}

/**
 * The other end of bindSession: the session is gone (logged out, or its connection closed). Once only:
 * a logout unbinds before its response, the connection's close comes later.
 */
export function unbindSession(session: Session, registry: SessionRegistry, log: Logger): void {
  if (session.closed) return;
  session.closed = true;
  registry.remove(session);
  if (session.target && session.nexus) {
    try {
      session.target.device.nexusRemoved(session.nexus);
    } catch (error) {
      log.error({ err: error }, 'nexusRemoved failed');
    }
  }
}
