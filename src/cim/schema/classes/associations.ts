/** Association classes linking systems, access points, services, collections, capabilities and jobs. */
import type { ClassDecl } from '../types.ts';

function assoc(name: string, superClass: string | undefined, a: [string, string], b: [string, string]): ClassDecl {
  return {
    name, superClass, association: true,
    properties: [
      { name: a[0], type: `ref:${a[1]}`, key: true },
      { name: b[0], type: `ref:${b[1]}`, key: true },
    ],
  };
}

export const associationClasses: readonly ClassDecl[] = [
  assoc('CIM_Dependency', undefined, ['Antecedent', 'CIM_ManagedElement'], ['Dependent', 'CIM_ManagedElement']),
  assoc('CIM_HostedDependency', 'CIM_Dependency', ['Antecedent', 'CIM_ManagedElement'], ['Dependent', 'CIM_ManagedElement']),
  assoc('CIM_HostedAccessPoint', 'CIM_HostedDependency', ['Antecedent', 'CIM_System'], ['Dependent', 'CIM_ServiceAccessPoint']),
  assoc('CIM_HostedService', 'CIM_HostedDependency', ['Antecedent', 'CIM_System'], ['Dependent', 'CIM_Service']),
  assoc('CIM_HostedCollection', 'CIM_HostedDependency', ['Antecedent', 'CIM_System'], ['Dependent', 'CIM_SystemSpecificCollection']),
  assoc('CIM_Component', undefined, ['GroupComponent', 'CIM_ManagedElement'], ['PartComponent', 'CIM_ManagedElement']),
  assoc('CIM_SystemComponent', 'CIM_Component', ['GroupComponent', 'CIM_System'], ['PartComponent', 'CIM_ManagedSystemElement']),
  assoc('CIM_SystemDevice', 'CIM_SystemComponent', ['GroupComponent', 'CIM_System'], ['PartComponent', 'CIM_LogicalDevice']),
  assoc('CIM_MemberOfCollection', undefined, ['Collection', 'CIM_Collection'], ['Member', 'CIM_ManagedElement']),
  assoc('CIM_ElementCapabilities', undefined, ['ManagedElement', 'CIM_ManagedElement'], ['Capabilities', 'CIM_Capabilities']),
  assoc('CIM_AffectedJobElement', undefined, ['AffectedElement', 'CIM_ManagedElement'], ['AffectingElement', 'CIM_Job']),
  assoc('CIM_OwningJobElement', undefined, ['OwningElement', 'CIM_ManagedElement'], ['OwnedElement', 'CIM_Job']),
  assoc('CIM_ElementConformsToProfile', undefined, ['ConformantStandard', 'CIM_RegisteredProfile'], ['ManagedElement', 'CIM_ManagedElement']),
  assoc('CIM_NamespaceInManager', 'CIM_HostedDependency', ['Antecedent', 'CIM_ObjectManager'], ['Dependent', 'CIM_Namespace']),
];
