import { BufferWriter } from './buffer-writer';
import { StartupCode } from './message-codes';
import { MessageReader } from './message-reader';
import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** StartupMessage: protocol 3.0 and name/value parameters (user, database, options, …). */
export interface StartupMessage {
  kind: 'startup';
  protocol: number;
  parameters: Map<string, string>;
}

export function decodeStartupMessage(frame: Buffer): StartupMessage {
  const reader = new MessageReader(frame, 4);
  const protocol = reader.int32('protocol version');
  if (protocol >>> 16 !== 3) {
    throw new ProtocolError(ProtocolErrorCode.unsupportedProtocol, `unsupported frontend protocol ${protocol >>> 16}.${protocol & 0xffff}`);
  }
  const parameters = new Map<string, string>();
  for (;;) {
    const name = reader.cstring('parameter name');
    if (name === '') break;
    parameters.set(name, reader.cstring('parameter value'));
  }
  reader.end('startup message');
  return { kind: 'startup', protocol, parameters };
}

export function encodeStartupMessage(parameters: Record<string, string>, writer = new BufferWriter()): Buffer {
  writer.int32(StartupCode.protocol3);
  for (const [name, value] of Object.entries(parameters)) writer.cstring(name).cstring(value);
  return writer.byte(0).untypedFrame();
}
