#!/usr/bin/env python3
"""Static check of every store_exec/store_query/store_scalar call: the
number of `?` placeholders in its SQL must equal the number of bind_*()
values. The compiler checks each value's type and the store checks the
count at run time; this catches a mismatch on a path no test runs."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sqlcalls import store_calls  # noqa: E402

bad = 0
for path in sorted(glob.glob('src/**/*.c', recursive=True)):
    for line, call, sql in store_calls(path):
        # '?' inside SQL string literals ('...') is not a placeholder
        marks = re.sub(r"'[^']*'", '', sql).count('?')
        binds = len(re.findall(r'\bbind_(int|text|text_or_null|int_or_null)\(', call))
        if marks != binds:
            print(f'{path}:{line}: {marks} placeholders, {binds} bound values')
            bad += 1
sys.exit(1 if bad else 0)
