#!/usr/bin/env python3
"""Static check of every store_exec/store_query/store_scalar call: the
number of `?` placeholders in its SQL must equal the number of bind_*()
values. The compiler checks each value's type and the store checks the
count at run time; this catches a mismatch on a path no test runs.

The SQL no call site shows is read too (scripts/sqlcalls.py's
sql_tables): the statements in a table's rows, which one call runs with
one set of values (tmpl_store.c's tmpl_mappings), must agree on their
placeholders column by column. And every statement, at a call or in a
table or named, has its values bound, not formatted into its text (no
printf conversion outside its quotes), and only bare `?` placeholders:
the store numbers them for PostgreSQL, and a `$1`, `?1` or `:name` would
reach the engine as written."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sqlcalls import call_sql, sql_consts, sql_tables, store_calls  # noqa: E402

# (file, table): why its statements are formatted, not bound. A stale
# entry fails the check.
FORMATTED = {
    ('src/storecopy.c', 'copy_dialects'): "a table's name, from the engine's catalog: no "
                                           'placeholder binds a name',
}


def unquoted(sql):
    """sql without its string literals ('...'): a `?` there is text."""
    return re.sub(r"'[^']*'", '', sql)


def malformed(sql):
    u = unquoted(sql)
    if re.search(r'%[-+#0]*(\d+|\*)?(\.(\d+|\*))?(hh|h|ll|l|z|j|t)?[diouxXsc]', u):
        yield 'a printf conversion: a value formatted into the text, not bound'
    if re.search(r'\$\d|\?\w|(?<![:\w]):[A-Za-z_]|@\w', u):
        yield 'a placeholder other than a bare ?'


bad = 0
used = set()
for path in sorted(glob.glob('src/**/*.c', recursive=True)):
    consts = sql_consts(open(path).read())
    for line, call, _ in store_calls(path):
        # the statement alone, not the literals among its values
        sql = call_sql(re.split(r'\bbind_\w*\(', call)[0], consts)
        marks = unquoted(sql).count('?')
        binds = len(re.findall(r'\bbind_(int|text|text_or_null|int_or_null)\(', call))
        if marks != binds:
            print(f'{path}:{line}: {marks} placeholders, {binds} bound values')
            bad += 1
        for why in malformed(sql):
            print(f'{path}:{line}: {why}')
            bad += 1
    columns = {}
    for line, table, col, sql in sql_tables(path):
        columns.setdefault((table, col), []).append((line, unquoted(sql).count('?')))
        for why in malformed(sql):
            if (path, table) in FORMATTED:
                used.add((path, table))
                continue
            print(f'{path}:{line}: {table}: {why}')
            bad += 1
    for (table, col), rows in columns.items():
        if len({n for _, n in rows}) > 1:
            print(f'{path}:{rows[0][0]}: {table}: its rows\' statements (member {col}) have '
                  f'{", ".join(str(n) for _, n in rows)} placeholders; one call runs them all')
            bad += 1
for k in sorted(set(FORMATTED) - used):
    print(f'{k[0]}: FORMATTED entry matches no statement any more, remove it: {k[1]}')
    bad += 1
sys.exit(1 if bad else 0)
