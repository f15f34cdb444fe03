/**
 * A client broke the wire protocol (bad length, unknown message, truncated field,
 * oversized frame). It ends only that client's session, with a FATAL ErrorResponse
 * carrying SQLSTATE 08P01 (protocol_violation).
 */
export const ProtocolErrorCode = {
  malformedLength: 'malformed_length',
  messageTooLarge: 'message_too_large',
  truncatedField: 'truncated_field',
  unexpectedMessage: 'unexpected_message',
  unsupportedProtocol: 'unsupported_protocol',
  invalidValue: 'invalid_value',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  readonly sqlState = '08P01';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
