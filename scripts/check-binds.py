#!/usr/bin/env python3
"""Checks every store_exec/store_query/store_scalar call: the number of `?`
in its SQL must equal the length of its bind-type string, since a mismatch
in a variadic call is undefined behaviour the compiler cannot see."""
import re, sys, glob
bad = 0
for path in glob.glob('src/**/*.c', recursive=True):
    src = open(path).read()
    for m in re.finditer(r'store_(exec|query|scalar)\(', src):
        i = m.end(); depth = 1; j = i
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
        call = src[i:j-1]
        # string literals in order, adjacent ones concatenated
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', call)
        if not lits:
            continue
        # macros like CLINIC_COLS carry no '?'
        parts = re.split(r'"(?:[^"\\]|\\.)*"', call)
        groups, cur = [], []
        k = 0
        for idx, lit in enumerate(lits):
            cur.append(lit)
            between = parts[idx + 1]
            if ',' in between:
                groups.append(''.join(cur)); cur = []
        if cur:
            groups.append(''.join(cur))
        if len(groups) < 2:
            continue
        sql, types = groups[0], groups[1]
        if not re.fullmatch(r'[idszn]*', types):
            continue
        if sql.count('?') != len(types):
            line = src[:m.start()].count('\n') + 1
            print(f'{path}:{line}: {sql.count("?")} placeholders, {len(types)} bind types "{types}"')
            bad += 1
sys.exit(1 if bad else 0)
