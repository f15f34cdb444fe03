// snappyjs ships no types: the two functions the gateway uses (snappy block format).
declare module 'snappyjs' {
  export function uncompress(data: Uint8Array | Buffer, maxLength?: number): Uint8Array | Buffer;
  export function compress(data: Uint8Array | Buffer): Uint8Array | Buffer;
  const SnappyJS: { uncompress: typeof uncompress; compress: typeof compress };
  export default SnappyJS;
}
