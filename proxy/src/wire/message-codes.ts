/** Message type bytes of protocol v3 (https://www.postgresql.org/docs/current/protocol-message-formats.html). */
export const Frontend = {
  query: 0x51, // Q
  parse: 0x50, // P
  bind: 0x42, // B
  describe: 0x44, // D
  execute: 0x45, // E
  close: 0x43, // C
  sync: 0x53, // S
  flush: 0x48, // H
  terminate: 0x58, // X
  copyData: 0x64, // d
  copyDone: 0x63, // c
  copyFail: 0x66, // f
  functionCall: 0x46, // F
  password: 0x70, // p (PasswordMessage, SASLInitialResponse, SASLResponse)
} as const;

export const Backend = {
  authentication: 0x52, // R
  parameterStatus: 0x53, // S
  backendKeyData: 0x4b, // K
  readyForQuery: 0x5a, // Z
  rowDescription: 0x54, // T
  dataRow: 0x44, // D
  commandComplete: 0x43, // C
  errorResponse: 0x45, // E
  noticeResponse: 0x4e, // N
  parseComplete: 0x31, // 1
  bindComplete: 0x32, // 2
  closeComplete: 0x33, // 3
  noData: 0x6e, // n
  parameterDescription: 0x74, // t
  emptyQueryResponse: 0x49, // I
  portalSuspended: 0x73, // s
  copyInResponse: 0x47, // G
  copyOutResponse: 0x48, // H
  copyBothResponse: 0x57, // W
  copyData: 0x64, // d
  copyDone: 0x63, // c
  notificationResponse: 0x41, // A
  functionCallResponse: 0x56, // V
  negotiateProtocolVersion: 0x76, // v
} as const;

/** Codes in the length-prefixed packets sent before a session starts (no type byte). */
export const StartupCode = {
  protocol3: 196608, // 3 << 16
  sslRequest: 80877103,
  gssEncRequest: 80877104,
  cancelRequest: 80877102,
} as const;

/** Startup packets carry no type byte; FrameReader reports them with this type. */
export const UNTYPED = 0;
