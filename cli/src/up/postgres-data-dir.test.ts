import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EMBEDDED_POSTGRES_ERROR_CODES } from './embedded-postgres-error';
import { leftoverClusters, placeClusterDirectory } from './postgres-data-dir';
import { serverAccount } from './server-account';
import { ensureRootOwnedDir } from './state-root';

/**
 * Where the embedded cluster goes, on real directories: in the data directory when run
 * as yourself; as root, under the state root (a scratch one here), linked from a data
 * directory inside a directory only root may enter.
 */
const isRoot = process.getuid?.() === 0;
const asRoot = isRoot ? describe : describe.skip;

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'strata-placement-'));
  chmodSync(scratch, 0o755);
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** A data directory in a directory only its owner may enter, like a checkout under /root. */
function closedDataDir(): string {
  const closed = join(scratch, 'closed');
  mkdirSync(join(closed, 'checkout', '.data', 'strata'), { recursive: true });
  chmodSync(closed, 0o700);
  return join(closed, 'checkout', '.data', 'strata');
}

describe('placeClusterDirectory as the server account itself', () => {
  test('the cluster is <data-dir>/postgres, mode 0700', () => {
    const dataDir = closedDataDir();
    const dir = placeClusterDirectory({ dataDir, account: undefined, stateRoot: join(scratch, 'state') });
    expect(dir).toEqual({ path: join(dataDir, 'postgres'), relocated: false, leftovers: [] });
    expect(statSync(dir.path).mode & 0o777).toBe(0o700);
    expect(placeClusterDirectory({ dataDir, account: undefined, stateRoot: join(scratch, 'state') }).path).toBe(dir.path);
  });
});

asRoot('placeClusterDirectory as root (the server runs as postgres)', () => {
  const account = () => serverAccount()!;
  const stateRoot = () => join(scratch, 'state');

  test('a new cluster lives under the state root, owned by postgres, linked from the data directory, which stays closed', () => {
    const dataDir = closedDataDir();
    const dir = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    expect(dir.relocated).toBe(true);
    expect(dir.path).toMatch(new RegExp(`^${stateRoot()}/postgres/[0-9a-f]{12}/data$`));
    expect(readlinkSync(join(dataDir, 'postgres'))).toBe(dir.path);
    expect(statSync(dir.path).uid).toBe(account().uid);
    expect(statSync(dir.path).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dirname(dir.path), 'data-dir'), 'utf8')).toBe(dataDir + '\n');
    expect(statSync(join(scratch, 'closed')).mode & 0o777).toBe(0o700);
    // A restart follows the link.
    expect(placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() })).toEqual({ ...dir, leftovers: [] });
  });

  test('a data directory deleted and made again gets a new cluster, and the old one is named as left over', () => {
    const dataDir = closedDataDir();
    const first = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    rmSync(dataDir, { recursive: true });
    mkdirSync(dataDir);
    const second = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    expect(second.path).not.toBe(first.path);
    expect(second.leftovers).toEqual([dirname(first.path)]);
    expect(leftoverClusters(stateRoot())).toEqual([dirname(first.path)]);
  });

  test('a link whose cluster was removed by hand gets a new cluster', () => {
    const dataDir = closedDataDir();
    const first = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    rmSync(dirname(first.path), { recursive: true });
    const second = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    expect(second.path).not.toBe(first.path);
    expect(readlinkSync(join(dataDir, 'postgres'))).toBe(second.path);
  });

  test('the empty directory a failed first start of an earlier version left is replaced by a link', () => {
    const dataDir = closedDataDir();
    mkdirSync(join(dataDir, 'postgres'));
    chownSync(join(dataDir, 'postgres'), account().uid, account().gid);
    const dir = placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() });
    expect(dir.relocated).toBe(true);
    expect(lstatSync(join(dataDir, 'postgres')).isSymbolicLink()).toBe(true);
  });

  test('a cluster made in place that postgres cannot reach is refused with what to do', () => {
    const dataDir = closedDataDir();
    mkdirSync(join(dataDir, 'postgres'));
    writeFileSync(join(dataDir, 'postgres', 'PG_VERSION'), '15\n');
    chownSync(join(dataDir, 'postgres'), account().uid, account().gid);
    expect(() => placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() })).toThrow(
      expect.objectContaining({ code: EMBEDDED_POSTGRES_ERROR_CODES.dataDir, message: expect.stringMatching(/cannot reach .*postgres: a directory above it is closed/) }),
    );
  });

  test("a cluster of another account is refused: the server would not start on it", () => {
    const dataDir = closedDataDir();
    mkdirSync(join(dataDir, 'postgres'));
    writeFileSync(join(dataDir, 'postgres', 'PG_VERSION'), '15\n');
    expect(() => placeClusterDirectory({ dataDir, account: account(), stateRoot: stateRoot() })).toThrow(/belongs to uid 0, and the server would run as uid \d+ \(postgres\)/);
  });

  test('a state directory others may write is refused', () => {
    mkdirSync(stateRoot(), { mode: 0o777 });
    chmodSync(stateRoot(), 0o777);
    expect(() => ensureRootOwnedDir(stateRoot())).toThrow(expect.objectContaining({ code: EMBEDDED_POSTGRES_ERROR_CODES.unsafeStateDir }));
    expect(() => placeClusterDirectory({ dataDir: closedDataDir(), account: account(), stateRoot: stateRoot() })).toThrow(/must be a directory owned by root and writable by root only/);
  });
});
