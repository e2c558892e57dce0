/** Wire constants of RFC 7143 (opcodes, flags, status classes, reason codes). */

export const BHS_LENGTH = 48;
export const DIGEST_LENGTH = 4;
export const RESERVED_TAG = 0xffffffff;

/** Initiator opcodes (RFC 7143 §11.1.1). */
export const enum InitiatorOpcode {
  NopOut = 0x00,
  ScsiCommand = 0x01,
  TaskManagementRequest = 0x02,
  LoginRequest = 0x03,
  TextRequest = 0x04,
  DataOut = 0x05,
  LogoutRequest = 0x06,
  Snack = 0x10,
}

/** Target opcodes (RFC 7143 §11.1.1). */
export const enum TargetOpcode {
  NopIn = 0x20,
  ScsiResponse = 0x21,
  TaskManagementResponse = 0x22,
  LoginResponse = 0x23,
  TextResponse = 0x24,
  DataIn = 0x25,
  LogoutResponse = 0x26,
  ReadyToTransfer = 0x31,
  AsyncMessage = 0x32,
  Reject = 0x3f,
}

/** Reject reasons (RFC 7143 §11.17.1). */
export const enum RejectReason {
  DataDigestError = 0x02,
  SnackReject = 0x03,
  ProtocolError = 0x04,
  CommandNotSupported = 0x05,
  ImmediateCommandReject = 0x06,
  TaskInProgress = 0x07,
  InvalidDataAck = 0x08,
  InvalidPduField = 0x09,
  OutOfResources = 0x0a,
  WaitingForLogout = 0x0c,
}

/** Login status (class << 8 | detail), RFC 7143 §11.13.5. */
export const enum LoginStatus {
  Success = 0x0000,
  InitiatorError = 0x0200,
  AuthenticationFailure = 0x0201,
  AuthorizationFailure = 0x0202,
  TargetNotFound = 0x0203,
  TargetRemoved = 0x0204,
  UnsupportedVersion = 0x0205,
  TooManyConnections = 0x0206,
  MissingParameter = 0x0207,
  CantIncludeInSession = 0x0208,
  SessionTypeNotSupported = 0x0209,
  SessionDoesNotExist = 0x020a,
  InvalidDuringLogin = 0x020b,
  TargetError = 0x0300,
  ServiceUnavailable = 0x0301,
  OutOfResources = 0x0302,
}

/** Login stages (CSG/NSG), RFC 7143 §11.12.3. */
export const enum LoginStage {
  Security = 0,
  Operational = 1,
  FullFeature = 3,
}

/** Task management responses (RFC 7143 §11.6.1). */
export const enum TmfResponse {
  FunctionComplete = 0,
  TaskDoesNotExist = 1,
  LunDoesNotExist = 2,
  TaskStillAllegiant = 3,
  ReassignmentNotSupported = 4,
  NotSupported = 5,
  AuthorizationFailed = 6,
  Rejected = 255,
}

/** Logout reasons and responses (RFC 7143 §11.14, §11.15). */
export const enum LogoutReason {
  CloseSession = 0,
  CloseConnection = 1,
  RemoveConnectionForRecovery = 2,
}

export const enum LogoutResponseCode {
  Success = 0,
  CidNotFound = 1,
  RecoveryNotSupported = 2,
  CleanupFailed = 3,
}

/** Async events (RFC 7143 §11.9.1). */
export const enum AsyncEvent {
  ScsiAsyncEvent = 0,
  LogoutRequested = 1,
  DropConnection = 2,
  DropAllConnections = 3,
  NegotiationRequested = 4,
}
