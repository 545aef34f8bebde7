#!/usr/bin/env python3
"""Static check of every store_exec/store_query/store_scalar call: the
number of `?` placeholders in its SQL must equal the number of bind_*()
values. The compiler checks each value's type and the store checks the
count at run time; this catches a mismatch on a path no test runs."""
import glob
import re
import sys

bad = 0
for path in sorted(glob.glob('src/**/*.c', recursive=True)):
    src = open(path).read()
    for m in re.finditer(r'\bstore_(exec|query|scalar)\(', src):
        i = j = m.end()
        depth = 1
        while depth:
            c = src[j]
            if c == '"':
                j += 1
                while src[j] != '"':
                    j += 2 if src[j] == '\\' else 1
            elif c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
            j += 1
        call = src[i:j - 1]
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', call)
        sql = ''.join(lits)
        # '?' inside SQL string literals ('...') is not a placeholder
        marks = re.sub(r"'[^']*'", '', sql).count('?')
        binds = len(re.findall(r'\bbind_(int|text|text_or_null|int_or_null)\(', call))
        if marks != binds:
            line = src[:m.start()].count('\n') + 1
            print(f'{path}:{line}: {marks} placeholders, {binds} bound values')
            bad += 1
sys.exit(1 if bad else 0)
