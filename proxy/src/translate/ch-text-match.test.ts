import { loadSqlParser, parseStatements, type PgNode } from '../router/sql-parser';
import type { TieredRelation } from '../router/catalog-snapshot';
import { ChParams } from './ch-params';
import { conditionToClickHouse } from './ch-condition';
import type { ColumnScope } from './column-scope';
import type { TextFolding } from './text-folding';

const relation: TieredRelation = {
  schema: 'public',
  table: 'logs',
  timeColumn: 'time',
  mode: 'cold-only',
  columns: [
    { name: 'time', pgType: 'timestamp with time zone', kind: 'timestamptz' },
    { name: 'msg', pgType: 'text', kind: 'text', caseFolding: 'database' },
    { name: 'n', pgType: 'integer', kind: 'int4' },
    // COLLATE "C": ASCII folding whatever the database's.
    { name: 'app', pgType: 'text', kind: 'text', caseFolding: 'ascii' },
    // COLLATE "en-x-icu" (or another libc locale): its folding is not known here.
    { name: 'label', pgType: 'text', kind: 'text' },
  ],
};
/** What the probe measures on glibc's C.UTF-8 (engine/text-folding-probe.ts). */
const GLIBC: TextFolding = { lowerToAscii: [['İ', 'i'], ['K', 'k']], upperToAscii: [['ı', 'I'], ['ſ', 'S']] };
const probed: ColumnScope = { relation, refName: 'l', soleFromItem: true, textFolding: GLIBC };
const unprobed: ColumnScope = { relation, refName: 'l', soleFromItem: true };
const asciiOnly: ColumnScope = { ...probed, textFolding: { lowerToAscii: [], upperToAscii: [] } };

beforeAll(() => loadSqlParser());

function where(sqlWhere: string): PgNode {
  return parseStatements(`SELECT 1 FROM logs l WHERE ${sqlWhere}`)[0].stmt.SelectStmt.whereClause;
}

function translate(scope: ColumnScope, cond: string): { sql: string | undefined; params: Record<string, unknown> } {
  const p = new ChParams('p');
  return { sql: conditionToClickHouse(scope, where(cond), p), params: p.values };
}

const LOWER = 'lower(`msg`)';

describe('log-search conditions pushed to ClickHouse', () => {
  const cases: Array<[string, string | undefined, Record<string, unknown>?]> = [
    // Case-sensitive LIKE: any pattern; escapes rewritten to ClickHouse's three.
    ["msg LIKE '%err_r%'", '`msg` LIKE {p0:String}', { p0: '%err_r%' }],
    ["msg NOT LIKE 'a\\b%'", '`msg` NOT LIKE {p0:String}', { p0: 'ab%' }],
    ["msg LIKE '100#%' ESCAPE '#'", '`msg` LIKE {p0:String}', { p0: '100\\%' }],
    ["msg ~~ 'é_'", '`msg` LIKE {p0:String}', { p0: 'é_' }],
    ["msg LIKE 'x\\'", undefined], // PostgreSQL raises the error
    ['msg LIKE n::text', undefined],
    // ILIKE: ASCII-lowered with the database's extra foldings translated first.
    ["msg ILIKE '%Error%'", `${LOWER} LIKE {p0:String}`, { p0: '%error%' }],
    // Characters the database folds into i and k are translated only when the pattern has an i or a k.
    // A match is tested first on the untranslated text, each translated letter a `_` there (text-folding.ts foldedLikePrefilter).
    ["msg ILIKE '%KILO%'", '(lower(`msg`) LIKE {p3:String} AND lower(translateUTF8(`msg`, {p0:String}, {p1:String})) LIKE {p2:String})', { p0: 'İK', p1: 'ik', p2: '%kilo%', p3: '%__lo%' }],
    ["msg ILIKE 'sKy'", '(lower(`msg`) LIKE {p3:String} AND lower(translateUTF8(`msg`, {p0:String}, {p1:String})) LIKE {p2:String})', { p0: 'K', p1: 'k', p2: 'sky', p3: 's_y' }],
    ["msg ILIKE 'i\\%\\_%'", '(lower(`msg`) LIKE {p3:String} AND lower(translateUTF8(`msg`, {p0:String}, {p1:String})) LIKE {p2:String})', { p2: 'i\\%\\_%', p3: '_\\%\\_%' }],
    ["msg NOT ILIKE '%kilo%'", 'lower(translateUTF8(`msg`, {p0:String}, {p1:String})) NOT LIKE {p2:String}'],
    ["lower(msg) LIKE 'k%'", '(lower(`msg`) LIKE {p3:String} AND lower(translateUTF8(`msg`, {p0:String}, {p1:String})) LIKE {p2:String})', { p3: '_%' }],
    ["msg NOT ILIKE 'A\\_%'", `${LOWER} NOT LIKE {p0:String}`, { p0: 'a\\_%' }],
    ["msg ~~* 'x'", `${LOWER} LIKE {p0:String}`],
    ["msg !~~* 'x'", `${LOWER} NOT LIKE {p0:String}`],
    ["msg ILIKE '%straße%'", undefined], // non-ASCII pattern: folds differ
    ["msg ILIKE 'a' ESCAPE 'A'", undefined], // lowering would change the escape
    // lower()/upper() compared with ASCII.
    ["lower(msg) = 'get'", `${LOWER} = {p0:String}`, { p0: 'get' }],
    ["'GET' <> upper(msg)", 'upper(`msg`) <> {p0:String}', { p0: 'GET' }],
    ["upper(msg) = 'IS'", 'upper(translateUTF8(`msg`, {p0:String}, {p1:String})) = {p2:String}', { p0: 'ıſ', p1: 'IS', p2: 'IS' }],
    ["upper(msg) LIKE 'ERR%'", 'upper(`msg`) LIKE {p0:String}'],
    ["lower(msg) LIKE '%x%'", `${LOWER} LIKE {p0:String}`],
    ["lower(msg) = 'ä'", undefined],
    ['lower(msg) = msg', undefined],
    ["lower(upper(msg)) = 'a'", undefined],
    // Regular expressions in the portable subset.
    ["msg ~ '^GET /api/[a-z]+'", 'match(`msg`, {p0:String})', { p0: '^GET /api/[a-z]+' }],
    ["msg !~ 'timeout|refused'", '(NOT match(`msg`, {p0:String}))'],
    ["msg ~* 'Error [A-F]'", 'match(lower(`msg`), {p0:String})', { p0: 'error [a-f]' }],
    ["msg !~* 'x'", '(NOT match(lower(`msg`), {p0:String}))'],
    ["msg ~ '\\d+'", undefined],
    ["msg ~ 'a{2}'", undefined],
    // position / strpos / starts_with.
    ["position('err' in msg) > 0", 'positionUTF8(`msg`, {p0:String}) > {p1:Int64}', { p0: 'err', p1: '0' }],
    ["strpos(msg, 'é') = 2", 'positionUTF8(`msg`, {p0:String}) = {p1:Int64}'],
    ["0 = position('x' in msg)", 'positionUTF8(`msg`, {p0:String}) = {p1:Int64}'],
    ["1 <= strpos(lower(msg), 'x')", `positionUTF8(${LOWER}, {p0:String}) >= {p1:Int64}`],
    ["position('x' in msg) > 0.5", undefined],
    ["starts_with(msg, 'GET ')", 'startsWith(`msg`, {p0:String})', { p0: 'GET ' }],
    ["msg ^@ 'GET'", 'startsWith(`msg`, {p0:String})'],
    ["NOT starts_with(lower(msg), 'get')", `(NOT startsWith(${LOWER}, {p0:String}))`],
    ["starts_with(lower(msg), 'ki')", '(startsWith(lower(translateUTF8(`msg`, {p0:String}, {p1:String})), {p2:String}))'.slice(1, -1)],
    ["time::text LIKE '2026%'", undefined],
  ];
  it.each(cases)('%s', (...row) => {
    const [cond, expected, params] = row as [string, string | undefined, Record<string, unknown> | undefined];
    const { sql, params: values } = translate(probed, cond);
    expect(sql).toBe(expected);
    if (params) expect(values).toMatchObject(params);
  });

  it('keeps case-insensitive conditions in PostgreSQL when the database was not probed', () => {
    for (const c of ["msg ILIKE 'a%'", "lower(msg) = 'a'", "msg ~* 'a'", "starts_with(upper(msg), 'A')"]) expect(translate(unprobed, c).sql).toBeUndefined();
    expect(translate(unprobed, "msg LIKE 'a_'").sql).toBe('`msg` LIKE {p0:String}');
    expect(translate(unprobed, "msg ~ 'a'").sql).toBe('match(`msg`, {p0:String})');
  });

  // PostgreSQL folds by the column's effective collation (text-folding.ts CaseFolding).
  const byCollation: Array<[string, string | undefined]> = [
    ["app ILIKE '%KILO%'", 'lower(`app`) LIKE {p0:String}'],
    ["upper(app) = 'IS'", 'upper(`app`) = {p0:String}'],
    ["starts_with(lower(app), 'ki')", 'startsWith(lower(`app`), {p0:String})'],
    ["app ~* 'Str'", 'match(lower(`app`), {p0:String})'],
    ["label ILIKE '%KILO%'", undefined],
    ["lower(label) = 'istanbul'", undefined],
    ["upper(label) LIKE 'S%'", undefined],
    ["label ~* 'str'", undefined],
    ["position('k' in lower(label)) > 0", undefined],
    ["label LIKE 'S%'", '`label` LIKE {p0:String}'], // case-sensitive: bytes under any deterministic collation
    ["label ~ '^S'", 'match(`label`, {p0:String})'],
    // An explicit COLLATE on the column decides: C, POSIX, ucs_basic fold ASCII only.
    ['msg COLLATE "C" ILIKE \'%KILO%\'', 'lower(`msg`) LIKE {p0:String}'],
    ['lower(label COLLATE "C") = \'istanbul\'', 'lower(`label`) = {p0:String}'],
    ['upper(msg COLLATE pg_catalog."POSIX") = \'IS\'', 'upper(`msg`) = {p0:String}'],
    ['label COLLATE "ucs_basic" ~* \'str\'', 'match(lower(`label`), {p0:String})'],
    ['msg COLLATE "C" LIKE \'S%\'', '`msg` LIKE {p0:String}'],
    ['msg COLLATE "en-x-icu" ILIKE \'k%\'', undefined],
    ['app COLLATE "en-x-icu" ILIKE \'k%\'', undefined],
    ['lower(msg COLLATE "en-x-icu") = \'k\'', undefined],
    // A COLLATE on the result or the constant changes the comparison, not lower()'s folding.
    ['lower(label) COLLATE "C" = \'k\'', undefined],
    ['label ILIKE \'k%\' COLLATE "C"', undefined],
  ];
  it.each(byCollation)('%s: folded by the column’s collation', (cond, expected) => {
    expect(translate(probed, cond).sql).toBe(expected);
  });

  it('pushes ASCII folding of a C column without a probed database folding', () => {
    expect(translate(unprobed, "app ILIKE 'K%'").sql).toBe('lower(`app`) LIKE {p0:String}');
    expect(translate(unprobed, 'msg COLLATE "C" ~* \'k\'').sql).toBe('match(lower(`msg`), {p0:String})');
  });

  it('uses plain lower()/upper() where the database folds nothing non-ASCII into ASCII (LC_CTYPE C)', () => {
    expect(translate(asciiOnly, "msg ILIKE 'A%'").sql).toBe('lower(`msg`) LIKE {p0:String}');
  });
});
