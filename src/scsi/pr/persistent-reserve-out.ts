/**
 * PERSISTENT RESERVE OUT (SPC-4 §6.16, semantics §5.12.6-5.12.11): REGISTER, REGISTER AND IGNORE
 * EXISTING KEY, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT.
 */
import { u32 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import { defineOpcode, good, RESERVATION_CONFLICT, type CommandOutcome, type ExecutionContext, type OpcodeDescriptor } from '../opcode.ts';
import { invalidCdbField, invalidParameterField, senseFailure } from '../sense.ts';
import { isAllRegistrants, VALID_PR_TYPES, type PrType } from './persistent-reservations.ts';

const PARAMETER_LIST_LENGTH = 24;

interface Request {
  readonly context: ExecutionContext;
  readonly key: bigint;
  readonly serviceActionKey: bigint;
  readonly aptpl: boolean;
  readonly type: number;
}

type Handler = (request: Request) => CommandOutcome;

function register(ignoreExisting: boolean): Handler {
  return ({ context, key, serviceActionKey, aptpl }) => {
    const { unit, command } = context;
    const pr = unit.persistentReservations;
    const nexus = command.nexus;
    const existing = pr.registrations.get(nexus.id);
    if (!ignoreExisting && (existing ? existing.key !== key : key !== 0n)) return RESERVATION_CONFLICT;
    if (!existing) {
      if (serviceActionKey === 0n) return good();
      pr.registrations.set(nexus.id, { nexusId: nexus.id, initiatorName: nexus.initiatorName, isid: nexus.isid, portalGroupTag: nexus.portalGroupTag, key: serviceActionKey });
    } else if (serviceActionKey === 0n) {
      for (const id of pr.unregister(nexus.id)) unit.unitAttentions.raise(id, 'reservations-released');
    } else {
      existing.key = serviceActionKey;
    }
    pr.aptpl = aptpl;
    pr.bumpGeneration();
    return good();
  };
}

/** The caller must be registered with the key it presents (SPC-4 §5.12.6). */
function registeredWith(request: Request): boolean {
  const registration = request.context.unit.persistentReservations.registrations.get(request.context.command.nexus.id);
  return registration !== undefined && registration.key === request.key;
}

const reserve: Handler = (request) => {
  const { unit, command } = request.context;
  const pr = unit.persistentReservations;
  if (!registeredWith(request)) return RESERVATION_CONFLICT;
  const current = pr.reservation;
  if (!current) {
    pr.reservation = { holder: command.nexus.id, type: request.type as PrType };
    return good();
  }
  return pr.isHolder(command.nexus.id) && current.type === request.type ? good() : RESERVATION_CONFLICT;
};

const release: Handler = (request) => {
  const { unit, command } = request.context;
  const pr = unit.persistentReservations;
  if (!registeredWith(request)) return RESERVATION_CONFLICT;
  if (!pr.reservation || !pr.isHolder(command.nexus.id)) return good();
  if (pr.reservation.type !== request.type) return senseFailure('invalid-release-of-persistent-reservation');
  for (const id of pr.release(command.nexus.id)) unit.unitAttentions.raise(id, 'reservations-released');
  return good();
};

const clear: Handler = (request) => {
  const { unit, command } = request.context;
  const pr = unit.persistentReservations;
  if (!registeredWith(request)) return RESERVATION_CONFLICT;
  for (const id of pr.registrations.keys()) if (id !== command.nexus.id) unit.unitAttentions.raise(id, 'reservations-preempted');
  pr.registrations.clear();
  pr.reservation = undefined;
  pr.bumpGeneration();
  return good();
};

const preempt: Handler = (request) => {
  const { unit, command } = request.context;
  const pr = unit.persistentReservations;
  const self = command.nexus.id;
  if (!registeredWith(request)) return RESERVATION_CONFLICT;
  const target = request.serviceActionKey;
  const current = pr.reservation;
  const removeMatching = (): string[] => {
    const removed = [...pr.registrations.values()].filter((r) => r.key === target && r.nexusId !== self).map((r) => r.nexusId);
    for (const id of removed) pr.registrations.delete(id);
    return removed;
  };
  let removed: string[];
  if (current && isAllRegistrants(current.type) && target === 0n) {
    removed = [...pr.registrations.keys()].filter((id) => id !== self);
    for (const id of removed) pr.registrations.delete(id);
    pr.reservation = { holder: self, type: request.type as PrType };
  } else if (current && !isAllRegistrants(current.type) && pr.registrations.get(current.holder)?.key === target) {
    removed = removeMatching();
    pr.reservation = { holder: self, type: request.type as PrType };
  } else {
    if (target === 0n) return invalidParameterField(8);
    removed = removeMatching();
    if (removed.length === 0) return RESERVATION_CONFLICT;
  }
  for (const id of removed) unit.unitAttentions.raise(id, 'registrations-preempted');
  pr.bumpGeneration();
  return good();
};

/** Service actions whose TYPE field must be valid. */
const NEEDS_TYPE = new Set([0x01, 0x02, 0x04, 0x05]);

const HANDLERS: ReadonlyMap<number, [string, Handler]> = new Map([
  [0x00, ['REGISTER', register(false)]],
  [0x01, ['RESERVE', reserve]],
  [0x02, ['RELEASE', release]],
  [0x03, ['CLEAR', clear]],
  [0x04, ['PREEMPT', preempt]],
  [0x05, ['PREEMPT AND ABORT', preempt]],
  [0x06, ['REGISTER AND IGNORE EXISTING KEY', register(true)]],
]);

function prOut(serviceAction: number, name: string, handler: Handler): OpcodeDescriptor {
  return defineOpcode({
    name: `PERSISTENT RESERVE OUT / ${name}`,
    opcode: 0x5f,
    serviceAction,
    cdbLength: 10,
    servedWhenNotReady: 'without-medium',
    usageBits: [0x5f, serviceAction, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00],
    access: 'none',
    parse(cdb) {
      const scope = cdb[2] >> 4;
      const type = cdb[2] & 0x0f;
      const length = u32(cdb, 5);
      if (NEEDS_TYPE.has(serviceAction)) {
        if (scope !== 0) return invalidCdbField(2, 7);
        if (!VALID_PR_TYPES.has(type)) return invalidCdbField(2, 3);
      }
      if (length !== PARAMETER_LIST_LENGTH) return senseFailure('parameter-list-length-error');
      return {
        dataOutBytes: length,
        async run(context) {
          const list = dataOutBuffer(context.command, length);
          if ((list[20] & 0x08) !== 0) return invalidParameterField(20, 3); // SPEC_I_PT unsupported
          if ((list[20] & 0x04) !== 0) return invalidParameterField(20, 2); // ALL_TG_PT unsupported
          const aptpl = (list[20] & 0x01) !== 0;
          const outcome = handler({ context, key: list.readBigUInt64BE(0), serviceActionKey: list.readBigUInt64BE(8), aptpl, type });
          await context.unit.persistentReservations.persist();
          return outcome;
        },
      };
    },
  });
}

export const persistentReserveOutOpcodes: readonly OpcodeDescriptor[] =
  [...HANDLERS].map(([sa, [name, handler]]) => prOut(sa, name, handler));
