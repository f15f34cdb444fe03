/**
 * Backend-side names for client prepared statements under transaction pooling (as
 * PgDog does): the same SQL and parameter types get the same name on every server, so a
 * statement prepared once on a server serves every client that prepares it again.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private next = 1;

  constructor(private readonly limit = 100000) {}

  nameFor(identity: string): string {
    let name = this.names.get(identity);
    if (!name) {
      // Bounded: past the limit a new name is handed out without being remembered.
      name = `strata_s${this.next++}`;
      if (this.names.size < this.limit) this.names.set(identity, name);
    }
    return name;
  }
}
