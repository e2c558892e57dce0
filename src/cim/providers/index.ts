/** Extrinsic methods by the class that declares them (subclasses inherit). */
import { addToRemoteReplicationCollection, createRemoteReplicationCollection, removeFromRemoteReplicationCollection } from './collection-methods.ts';
import { getError, requestStateChange } from './job-methods.ts';
import type { ExtrinsicMethod } from './method-types.ts';
import { getPeerSystems, getServiceAccessPoints } from './peer-methods.ts';
import {
  createElementReplica, getReplicationRelationships, modifyReplicaSynchronization, resolveSplitBrain, setSplitBrainPolicy, verifyReplica,
} from './replica-methods.ts';

export const extrinsicMethods: ReadonlyMap<string, ReadonlyMap<string, ExtrinsicMethod>> = new Map([
  ['CIM_ReplicationService', new Map<string, ExtrinsicMethod>([
    ['createremotereplicationcollection', createRemoteReplicationCollection],
    ['addtoremotereplicationcollection', addToRemoteReplicationCollection],
    ['removefromremotereplicationcollection', removeFromRemoteReplicationCollection],
    ['getpeersystems', getPeerSystems],
    ['getserviceaccesspoints', getServiceAccessPoints],
    ['createelementreplica', createElementReplica],
    ['modifyreplicasynchronization', modifyReplicaSynchronization],
    ['getreplicationrelationships', getReplicationRelationships],
    // Vendor method, declared on MSISCSITARGET_ReplicationService (the only concrete subclass).
    ['verifyreplica', verifyReplica],
    ['resolvesplitbrain', resolveSplitBrain],
    ['setsplitbrainpolicy', setSplitBrainPolicy],
  ])],
  ['CIM_ConcreteJob', new Map<string, ExtrinsicMethod>([
    ['requeststatechange', requestStateChange],
    ['geterror', getError],
  ])],
]);
