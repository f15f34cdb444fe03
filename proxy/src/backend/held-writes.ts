/**
 * Writes held back and then sent as one buffer: the messages of one client read, or the
 * replies of one server read. For a few small messages a copy is cheaper than a
 * socket's cork/uncork, whose writev path costs more per call.
 */
export class HeldWrites {
  private parts: Buffer[] | null = null;

  /** Starts holding (no-op when already holding). */
  hold(): void {
    this.parts ??= [];
  }

  /** Keeps `bytes` when holding (true); false when they should be written now. */
  add(bytes: Buffer): boolean {
    if (!this.parts) return false;
    this.parts.push(bytes);
    return true;
  }

  /** Stops holding and returns what was held as one buffer, or null when nothing was. */
  take(): Buffer | null {
    const parts = this.parts;
    this.parts = null;
    if (!parts || parts.length === 0) return null;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
