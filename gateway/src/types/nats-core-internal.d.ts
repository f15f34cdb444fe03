// @nats-io/* reach nats-core through the `exports` subpath "./internal", which this
// repository's moduleResolution (node10) does not read: point it at the file it names.
declare module '@nats-io/nats-core/internal' {
  export * from '@nats-io/nats-core/lib/internal_mod';
}
