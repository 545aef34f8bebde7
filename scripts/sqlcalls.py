"""The store calls in a C file, as the static checks read them (imported by
check-binds.py and check-tenancy.py): each store_exec/store_query/
store_scalar call's line, the text between its parentheses, and its SQL
(the call's string literals joined; a macro's text is not a literal and is
left out)."""
import re


def store_calls(path):
    src = open(path).read()
    for m in re.finditer(r'\bstore_(exec|query|scalar|insert)\(', src):
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
        sql = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', call)).replace('\\"', '"')
        yield src[:m.start()].count('\n') + 1, call, sql
